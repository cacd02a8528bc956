/*
 * What an application that embeds Warden gets when it calls the library directly: exceptions
 * are WardenErrors with a stable code (docs/architecture.md). createContext without a secret key
 * (generateDevSecrets: false and none configured) throws a ConfigError, code config_invalid,
 * like every other configuration problem, with a message saying what to set.
 */
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError, WardenError } from '../../src/errors/index.js';
import { createContext } from '../../src/server/index.js';

describe('errors thrown to library callers', () => {
  it('createContext without a secret key throws a ConfigError with code config_invalid, like every other configuration problem', () => {
    const { settings } = loadSettings({ generateDevSecrets: false, env: { WARDEN_DATABASE_URL: 'sqlite::memory:' }, envFile: false });
    let thrown: unknown;
    try {
      createContext(settings).logger.flush();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WardenError);
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as WardenError).code).toBe('config_invalid');
    expect((thrown as ConfigError).problems).toEqual([expect.stringMatching(/^no secret key: set WARDEN_SECRET_KEY /)]);
  });
});
