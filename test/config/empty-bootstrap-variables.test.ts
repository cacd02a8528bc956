import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

/**
 * docs/configuration.md: "An empty environment variable counts as unset." Every setting follows
 * that (resolveRaw), but the two variables loadSettings reads itself, before the layers exist,
 * do not: `WARDEN_SECRETS_DIR=` hides the .env value from the file layer (while the settings
 * still report that directory), and `WARDEN_DOTENV_FILE=` makes the cwd itself the .env file.
 */
describe('an empty WARDEN_SECRETS_DIR or WARDEN_DOTENV_FILE counts as unset', () => {
  function scratch(): { cwd: string; secrets: string } {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'warden-bootstrap-'));
    const secrets = path.join(cwd, 'secrets');
    mkdirSync(secrets);
    writeFileSync(path.join(secrets, 'WARDEN_METRICS_TOKEN'), 'token-from-the-secrets-directory\n');
    writeFileSync(path.join(cwd, '.env'), `WARDEN_SECRETS_DIR=${secrets}\n`);
    return { cwd, secrets };
  }

  it('an empty WARDEN_SECRETS_DIR falls back to .env for reading secret files, as it does for the setting', () => {
    const { cwd, secrets } = scratch();
    const unset = loadSettings({ env: {}, cwd, generateDevSecrets: false });
    expect(unset.settings.secretsDir).toBe(secrets);
    expect(unset.settings.metricsToken).toBe('token-from-the-secrets-directory');

    const empty = loadSettings({ env: { WARDEN_SECRETS_DIR: '' }, cwd, generateDevSecrets: false });
    // The settings say the directory is in use…
    expect(empty.settings.secretsDir).toBe(secrets);
    // …so its files must be read too (today: silently skipped, the secret is unset).
    expect(empty.settings.metricsToken).toBe('token-from-the-secrets-directory');
    expect(empty.sources.metricsToken).toBe('secrets-dir');
  });

  it('an empty WARDEN_DOTENV_FILE means the default .env, not a raw EISDIR crash', () => {
    const { cwd, secrets } = scratch();
    let loaded: ReturnType<typeof loadSettings> | undefined;
    let thrown: unknown;
    try {
      loaded = loadSettings({ env: { WARDEN_DOTENV_FILE: '' }, cwd, generateDevSecrets: false });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    expect(loaded?.settings.secretsDir).toBe(secrets);
  });

  it('a WARDEN_DOTENV_FILE naming a directory is a configuration problem, not a bare fs error', () => {
    const { cwd } = scratch();
    expect(() =>
      loadSettings({ env: { WARDEN_DOTENV_FILE: 'secrets' }, cwd, generateDevSecrets: false }),
    ).toThrow(ConfigError);
    expect(() =>
      loadSettings({ env: { WARDEN_DOTENV_FILE: 'secrets' }, cwd, generateDevSecrets: false }),
    ).toThrow(/WARDEN_DOTENV_FILE.*cannot be read \(EISDIR\)/);
  });
});
