import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

// The sliding log keeps one entry per request, so WARDEN_RATELIMIT_ALGORITHM=sliding-log bounds
// the HTTP limits at 1000: a WARDEN_RATELIMIT_DEFAULT or _AUTH above it is a ConfigError naming
// the variable when the settings are read (and by `warden config check`), not a TypeError when
// the app builds its limits.
const load = (env: Record<string, string>) =>
  loadSettings({
    env: { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: TEST_SECRET_KEY, ...env },
    envFile: false,
    generateDevSecrets: false,
  });

describe('WARDEN_RATELIMIT_ALGORITHM=sliding-log with a limit above 1000', () => {
  it('is refused when the settings are read, naming the variable', () => {
    let thrown: unknown;
    try {
      load({ WARDEN_RATELIMIT_ALGORITHM: 'sliding-log', WARDEN_RATELIMIT_DEFAULT: '5000/60s' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(String((thrown as Error).message)).toMatch(/WARDEN_RATELIMIT_DEFAULT|WARDEN_RATELIMIT_ALGORITHM/);
  });

  it('is refused for the auth limit too', () => {
    expect(() =>
      load({ WARDEN_RATELIMIT_ALGORITHM: 'sliding-log', WARDEN_RATELIMIT_AUTH: '2000/60s' }),
    ).toThrow(ConfigError);
  });
});
