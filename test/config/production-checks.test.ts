import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

const STRONG = 'Qm9vdHN0cmFwLXNlY3JldC1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkwYWJjZGVm';

function load(env: Record<string, string>): ReturnType<typeof loadSettings> {
  return loadSettings({ env, cwd: mkdtempSync(path.join(os.tmpdir(), 'warden-prodcheck-')), envFile: false });
}

function refusal(env: Record<string, string>): string[] {
  try {
    load({ WARDEN_ENV: 'production', ...env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected production to refuse');
}

describe('production refuses patterned secret keys', () => {
  it.each([
    ['a 16-character hex run repeated 4 times', '0123456789abcdef'.repeat(4)],
    ['the base64 alphabet in order', 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'],
  ])('refuses %s, naming the variable and the reason but not the value', (_name, value) => {
    const problems = refusal({ WARDEN_SECRET_KEY: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^WARDEN_SECRET_KEY is too weak: about \d+ bytes of entropy \(.*consecutive characters.*\), at least 32 are required$/,
    );
    expect(problems[0]).not.toContain(value.slice(0, 8));
  });

  it('says that a key repeats itself', () => {
    const problems = refusal({ WARDEN_SECRET_KEY: 'k3Q9zP1wX7'.repeat(7) });
    expect(problems[0]).toMatch(/^WARDEN_SECRET_KEY is too weak: .*repeats parts of itself/);
    expect(problems[0]).not.toContain('k3Q9zP1wX7');
  });

  it('refuses a patterned metrics token with the reason', () => {
    const problems = refusal({
      WARDEN_SECRET_KEY: STRONG,
      WARDEN_METRICS_TOKEN: 'abcdefghijklmnopqrstuvwxyz012345',
    });
    expect(problems).toEqual([
      'WARDEN_METRICS_TOKEN is too weak (it contains runs of consecutive characters in alphabet, digit or keyboard order): use at least 16 random bytes',
    ]);
  });
});

describe('WARDEN_TRUST_PROXY covering every address is treated like true', () => {
  it.each([
    '0.0.0.0/0,::/0',
    '0.0.0.0/0',
    '::/0',
    '0.0.0.0/1, 128.0.0.0/1',
    '::ffff:0.0.0.0/96',
    '10.0.0.0/8, 0.0.0.0/0',
  ])('production refuses %s', (value) => {
    const problems = refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^WARDEN_TRUST_PROXY trusts every (IPv4|IPv6|IPv4 and IPv6) address, the same as true: any client could choose its own IP/,
    );
  });

  it('names both families when both are covered', () => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: '0.0.0.0/0,::/0' })[0]).toContain(
      'every IPv4 and IPv6 address',
    );
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: '::/1,8000::/1' })[0]).toContain(
      'every IPv6 address',
    );
  });

  it('staging warns, as it does for true', () => {
    const { warnings } = load({
      WARDEN_ENV: 'staging',
      WARDEN_SECRET_KEY: STRONG,
      WARDEN_TRUST_PROXY: '0.0.0.0/0',
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^WARDEN_TRUST_PROXY trusts every IPv4 address, the same as true/);
    const asTrue = load({ WARDEN_ENV: 'staging', WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: 'true' });
    expect(asTrue.warnings).toHaveLength(1);
  });

  it.each([
    '10.0.0.0/8, 192.168.1.5',
    'loopback, uniquelocal',
    '0.0.0.0/1',
    '::/1',
    '::ffff:10.0.0.0/104',
    '2001:db8::/32',
    '1',
  ])('production accepts %s', (value) => {
    expect(
      load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value }).warnings,
    ).toEqual([]);
  });
});

describe('WARDEN_REQUIRE_SHARED_DB with the SQLite default (behaviour as documented)', () => {
  const env = { WARDEN_SECRET_KEY: STRONG, WARDEN_REQUIRE_SHARED_DB: 'true' };
  const message =
    'WARDEN_DATABASE_URL is SQLite while WARDEN_REQUIRE_SHARED_DB is set: use a postgres:// URL';

  it('production refuses to start', () => {
    expect(refusal(env)).toEqual([message]);
  });

  it('staging starts with a warning', () => {
    expect(load({ WARDEN_ENV: 'staging', ...env }).warnings).toEqual([message]);
  });

  it('development ignores it', () => {
    expect(load({ WARDEN_ENV: 'development', ...env }).warnings).toEqual([]);
  });
});
