import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

// docs/configuration.md: only the default ./.env may be absent. A file named on purpose
// (`--env-file prod.env`, WARDEN_DOTENV_FILE) that is missing — a typo, a volume not mounted —
// would otherwise start a service meant for production with the development profile: generated
// root secret, a first admin with a printed password, none of production's refusals.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-named-env-file-'));
  dirs.push(dir);
  return dir;
}

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the settings loaded');
}

describe('a .env file named explicitly', () => {
  it('that does not exist refuses the start, naming the file (--env-file)', () => {
    const cwd = scratch();
    const file = path.join(cwd, 'prod.env');
    expect(
      problemsOf(() => loadSettings({ env: {}, cwd, envFile: file, generateDevSecrets: false })),
    ).toEqual([`the .env file "${file}" (WARDEN_DOTENV_FILE or --env-file) does not exist`]);
  });

  it('that does not exist refuses the start, naming the file (WARDEN_DOTENV_FILE, relative to the working directory)', () => {
    const cwd = scratch();
    expect(
      problemsOf(() =>
        loadSettings({ env: { WARDEN_DOTENV_FILE: 'prod.env' }, cwd, generateDevSecrets: false }),
      ),
    ).toEqual([
      `the .env file "${path.join(cwd, 'prod.env')}" (WARDEN_DOTENV_FILE or --env-file) does not exist`,
    ]);
  });

  it('is read when it exists, and /dev/null reads nothing', () => {
    const cwd = scratch();
    writeFileSync(path.join(cwd, 'prod.env'), 'WARDEN_PORT=4321\n');
    writeFileSync(path.join(cwd, '.env'), 'WARDEN_PORT=1234\n');
    expect(
      loadSettings({ env: { WARDEN_DOTENV_FILE: 'prod.env' }, cwd, generateDevSecrets: false }).settings.port,
    ).toBe(4321);
    expect(
      loadSettings({ env: {}, cwd, envFile: '/dev/null', generateDevSecrets: false }).settings.port,
    ).toBe(8080);
  });

  it('the default ./.env may be absent', () => {
    const cwd = scratch();
    expect(loadSettings({ env: {}, cwd, generateDevSecrets: false }).settings.env).toBe('development');
  });
});
