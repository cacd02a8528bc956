import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

// The secrets-dir layer reads the directory the WARDEN_SECRETS_DIR setting names, resolved and
// trimmed as every setting (the one `warden config check` shows), and a directory that is not
// there is refused: in production a secret such as WARDEN_ENCRYPTION_KEY would otherwise stay
// unset without a word (columns stored in clear).

const TOKEN = 'c3b1f0f2a6f54e0f9e2a7c1d5b8e4a90c3b1f0f2a6f54e0f';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A working directory holding `secrets/WARDEN_METRICS_TOKEN`. */
function withSecretsDir(): { cwd: string; dir: string } {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'warden-secrets-dir-'));
  dirs.push(cwd);
  const dir = path.join(cwd, 'secrets');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'WARDEN_METRICS_TOKEN'), `${TOKEN}\n`);
  return { cwd, dir };
}

describe('WARDEN_SECRETS_DIR', () => {
  it('with surrounding whitespace, reads the files of the directory the setting reports', () => {
    const { cwd, dir } = withSecretsDir();
    const loaded = loadSettings({
      env: { WARDEN_SECRETS_DIR: `${dir} ` },
      cwd,
      envFile: false,
      generateDevSecrets: false,
    });
    expect(loaded.settings.secretsDir).toBe(dir);
    expect(loaded.settings.metricsToken).toBe(TOKEN);
    expect(loaded.sources.metricsToken).toBe('secrets-dir');
  });

  it('given through WARDEN_SECRETS_DIR_FILE or .env, reads the files of that directory', () => {
    const { cwd, dir } = withSecretsDir();
    writeFileSync(path.join(cwd, 'secrets-dir-path'), `${dir}\n`);
    const viaFile = loadSettings({
      env: { WARDEN_SECRETS_DIR_FILE: path.join(cwd, 'secrets-dir-path') },
      cwd,
      envFile: false,
      generateDevSecrets: false,
    });
    expect(viaFile.settings.secretsDir).toBe(dir);
    expect(viaFile.settings.metricsToken).toBe(TOKEN);
    writeFileSync(path.join(cwd, '.env'), 'WARDEN_SECRETS_DIR=secrets\n');
    expect(loadSettings({ env: {}, cwd, generateDevSecrets: false }).settings.metricsToken).toBe(TOKEN);
  });

  it('naming a directory that does not exist refuses the start, naming the variable', () => {
    const { cwd } = withSecretsDir();
    let problems: readonly string[] = [];
    try {
      loadSettings({
        env: { WARDEN_SECRETS_DIR: 'not-mounted' },
        cwd,
        envFile: false,
        generateDevSecrets: false,
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      'WARDEN_SECRETS_DIR "not-mounted" is not a directory (not mounted?): the secrets it should hold would stay unset',
    ]);
  });
});
