import { chmodSync, mkdtempSync, statSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

/** Output of `openssl rand -base64 48` (the old value here was base64 of a phrase, now refused). */
const STRONG = '4OnucoqIGpmY+x1sMt63GVIJj9YInmlG3iGujPZ1EEEMJOEA7Rl6gBtYWUti2Xq3';

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'warden-config-'));
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadSettings', () => {
  it('starts a development profile with defaults and a generated, persisted 0600 secret', () => {
    const cwd = tempDir();
    const first = loadSettings({ env: {}, cwd, envFile: false });
    expect(first.settings.env).toBe('development');
    expect(first.settings.port).toBe(8080);
    expect(first.settings.host).toBe('127.0.0.1');
    expect(first.settings.databaseUrl).toBe(`sqlite:${path.join(cwd, 'data', 'warden.db')}`);
    expect(first.generated).toEqual(['WARDEN_SECRET_KEY']);
    expect(first.sources.secretKey).toBe('generated');
    const file = path.join(cwd, 'data', 'dev-secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(cwd, 'data')).mode & 0o777).toBe(0o700);

    const second = loadSettings({ env: {}, cwd, envFile: false });
    expect(second.settings.secretKey).toBe(first.settings.secretKey);
    expect(second.generated).toEqual([]);
  });

  it('keeps the development secret 0600 in an existing data directory without changing its mode', () => {
    // WARDEN_DATA_DIR may name a directory Warden does not own (the checkout, /tmp): chmod
    // there fails with EPERM, or silently locks others out of a shared directory.
    const dataDir = tempDir();
    chmodSync(dataDir, 0o755);
    const loaded = loadSettings({ env: { WARDEN_DATA_DIR: dataDir }, cwd: tempDir(), envFile: false });
    expect(loaded.generated).toEqual(['WARDEN_SECRET_KEY']);
    expect(statSync(dataDir).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dataDir, 'dev-secrets.json')).mode & 0o777).toBe(0o600);
  });

  it('returns a frozen settings object', () => {
    const { settings } = loadSettings({ env: { WARDEN_SECRET_KEY: STRONG }, cwd: tempDir(), envFile: false });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(() => {
      (settings as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('applies the precedence args > env > NAME_FILE > .env > defaults', () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, '.env'), 'WARDEN_PORT=7001\nWARDEN_HOST=0.0.0.0\nWARDEN_LOG_LEVEL=warn\n');
    writeFileSync(path.join(cwd, 'level.txt'), 'error\n');
    const base = { WARDEN_SECRET_KEY: STRONG };
    const fromDotenv = loadSettings({ env: base, cwd });
    expect(fromDotenv.settings.port).toBe(7001);
    expect(fromDotenv.sources.port).toBe('dotenv');

    const fromFile = loadSettings({ env: { ...base, WARDEN_LOG_LEVEL_FILE: 'level.txt' }, cwd });
    expect(fromFile.settings.logLevel).toBe('error');
    expect(fromFile.sources.logLevel).toBe('env-file');

    const fromEnv = loadSettings({ env: { ...base, WARDEN_PORT: '7002', WARDEN_LOG_LEVEL: 'fatal', WARDEN_LOG_LEVEL_FILE: 'level.txt' }, cwd });
    expect(fromEnv.settings.port).toBe(7002);
    expect(fromEnv.settings.logLevel).toBe('fatal');

    const fromArgs = loadSettings({ env: { ...base, WARDEN_PORT: '7002' }, args: { WARDEN_PORT: '7003' }, cwd });
    expect(fromArgs.settings.port).toBe(7003);
    expect(fromArgs.sources.port).toBe('args');
    expect(fromArgs.settings.host).toBe('0.0.0.0');
  });

  it('reads secrets from a secrets directory such as /run/secrets', () => {
    const cwd = tempDir();
    const dir = path.join(cwd, 'secrets');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'WARDEN_SECRET_KEY'), `${STRONG}\n`);
    const { settings, sources } = loadSettings({ env: { WARDEN_SECRETS_DIR: dir, WARDEN_ENV: 'production' }, cwd, envFile: false });
    expect(settings.secretKey).toBe(STRONG);
    expect(sources.secretKey).toBe('secrets-dir');
  });

  it('names the variable and the reason for invalid values, all at once', () => {
    const problems = problemsOf(() =>
      loadSettings({
        env: { WARDEN_PORT: '70000', WARDEN_ENV: 'prod', WARDEN_DATABASE_URL: 'mysql://x', WARDEN_REDIS_URL: 'not a url' },
        cwd: tempDir(),
        envFile: false,
      }),
    );
    // WARDEN_ENV is resolved first and then the rest are still checked.
    expect(problems).toContain('WARDEN_ENV must be one of development, staging, production, got "prod"');
    expect(problems).toContain('WARDEN_PORT must be between 0 and 65535, got 70000');
    expect(problems).toContain('WARDEN_DATABASE_URL must start with sqlite: or postgres://');
    expect(problems).toContain('WARDEN_REDIS_URL is not a valid URL');
  });

  it('reports an unreadable NAME_FILE without crashing', () => {
    const problems = problemsOf(() =>
      loadSettings({ env: { WARDEN_SECRET_KEY_FILE: '/nonexistent/secret' }, cwd: tempDir(), envFile: false }),
    );
    expect(problems).toEqual(['WARDEN_SECRET_KEY_FILE points at "/nonexistent/secret", which cannot be read (ENOENT)']);
  });

  it('never echoes a secret value that fails to parse', () => {
    const problems = problemsOf(() =>
      loadSettings({ env: { WARDEN_SECRET_KEY: '   ' , WARDEN_ENV: 'production' }, cwd: tempDir(), envFile: false }),
    );
    expect(problems.join('\n')).not.toContain('   "');
  });
});

describe('production profile', () => {
  const prod = (env: Record<string, string>): string[] =>
    problemsOf(() => loadSettings({ env: { WARDEN_ENV: 'production', ...env }, cwd: tempDir(), envFile: false }));

  it('refuses a missing secret and never generates one', () => {
    const cwd = tempDir();
    expect(() => loadSettings({ env: { WARDEN_ENV: 'production' }, cwd, envFile: false })).toThrow(ConfigError);
    expect(() => statSync(path.join(cwd, 'data', 'dev-secrets.json'))).toThrow();
    expect(prod({})[0]).toMatch(/^WARDEN_SECRET_KEY is missing/);
  });

  it('says that a missing secret key was looked for in the configured secrets provider too', () => {
    expect(prod({ WARDEN_SECRETS_PROVIDER: 'aws' })[0]).toMatch(/^WARDEN_SECRET_KEY is missing \(not found in the aws secrets provider either, under the name WARDEN_SECRET_KEY\): /);
    expect(prod({})[0]).not.toContain('provider');
  });

  it('refuses short, low-entropy and known default secrets', () => {
    expect(prod({ WARDEN_SECRET_KEY: 'short-secret' })[0]).toMatch(/^WARDEN_SECRET_KEY is too weak/);
    expect(prod({ WARDEN_SECRET_KEY: 'a'.repeat(80) })[0]).toMatch(/^WARDEN_SECRET_KEY is too weak/);
    expect(prod({ WARDEN_SECRET_KEY: 'ab'.repeat(40) })[0]).toMatch(/^WARDEN_SECRET_KEY is too weak/);
    expect(prod({ WARDEN_SECRET_KEY: 'changeme' })[0]).toMatch(/known default/);
    expect(prod({ WARDEN_SECRET_KEY: 'please-change-this-secret-key-in-production' })[0]).toMatch(/known default/);
  });

  it('lists every problem, one line each', () => {
    const problems = prod({
      WARDEN_SECRET_KEY: STRONG,
      WARDEN_CORS_ORIGINS: '*',
      WARDEN_LOG_LEVEL: 'debug',
      WARDEN_REQUIRE_SHARED_DB: 'true',
    });
    expect(problems).toEqual([
      'WARDEN_CORS_ORIGINS allows every origin (*): list the exact origins instead',
      'WARDEN_DATABASE_URL is SQLite while WARDEN_REQUIRE_SHARED_DB is set: use a postgres:// URL',
      'WARDEN_REDIS_URL is unset while WARDEN_REQUIRE_SHARED_DB is set: revocations, rate limits and lockouts would be per instance; set the Redis all instances share',
      'WARDEN_LOG_LEVEL is debug: use info or higher in production',
    ]);
  });

  it('starts with a strong secret and safe settings', () => {
    const { settings, warnings } = loadSettings({
      env: { WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_CORS_ORIGINS: 'https://app.example.com' },
      cwd: tempDir(),
      envFile: false,
    });
    expect(settings.env).toBe('production');
    expect(settings.corsOrigins).toEqual(['https://app.example.com']);
    expect(warnings).toEqual([]);
  });

  it('staging warns about what production refuses, but still needs a secret', () => {
    const { warnings } = loadSettings({
      env: { WARDEN_ENV: 'staging', WARDEN_SECRET_KEY: STRONG, WARDEN_LOG_LEVEL: 'debug' },
      cwd: tempDir(),
      envFile: false,
    });
    expect(warnings).toEqual(['WARDEN_LOG_LEVEL is debug: use info or higher in production']);
    expect(() => loadSettings({ env: { WARDEN_ENV: 'staging' }, cwd: tempDir(), envFile: false })).toThrow(/missing/);
  });

  it.each([
    ['10.0.0.0/33', 'WARDEN_TRUST_PROXY "10.0.0.0/33": an IPv4 prefix length is 0 to 32'],
    ['2001:db8::/129', 'WARDEN_TRUST_PROXY "2001:db8::/129": an IPv6 prefix length is 0 to 128'],
    ['1.2.3', 'WARDEN_TRUST_PROXY "1.2.3" is not true, false, a hop count, an IP, a CIDR or loopback/linklocal/uniquelocal'],
    ['10.0.0.0/8/8', 'WARDEN_TRUST_PROXY "10.0.0.0/8/8" is not true, false, a hop count, an IP, a CIDR or loopback/linklocal/uniquelocal'],
    ['10.0.0.0/255.0.0.0', 'WARDEN_TRUST_PROXY "10.0.0.0/255.0.0.0" is not true, false, a hop count, an IP, a CIDR or loopback/linklocal/uniquelocal'],
  ])('rejects the trust-proxy entry %s with the reason', (value, problem) => {
    expect(problemsOf(() => loadSettings({ env: { WARDEN_TRUST_PROXY: value }, cwd: tempDir(), envFile: false }))).toEqual([
      problem,
    ]);
  });

  it('rejects CORS entries that are not exact origins', () => {
    expect(
      problemsOf(() => loadSettings({ env: { WARDEN_CORS_ORIGINS: 'https://a.example.com/path' }, cwd: tempDir(), envFile: false })),
    ).toEqual(['WARDEN_CORS_ORIGINS "https://a.example.com/path" must be an exact origin (scheme://host[:port], no path)']);
  });
});

describe('.env file', () => {
  it('is read from WARDEN_DOTENV_FILE when given', () => {
    const cwd = tempDir();
    writeFileSync(path.join(cwd, 'custom.env'), `WARDEN_SECRET_KEY=${STRONG}\nWARDEN_ENV=production\n`);
    const { settings } = loadSettings({ env: { WARDEN_DOTENV_FILE: 'custom.env' }, cwd });
    expect(settings.env).toBe('production');
    expect(readFileSync(path.join(cwd, 'custom.env'), 'utf8')).toContain('WARDEN_ENV');
  });
});

describe('reading the development secrets without generating them (readDevSecrets)', () => {
  it('uses the secret an earlier start generated, as the service does, and never creates the file', () => {
    const cwd = tempDir();
    const none = loadSettings({ env: {}, cwd, envFile: false, generateDevSecrets: false, readDevSecrets: true });
    expect(none.settings.secretKey).toBeUndefined();
    expect(none.sources.secretKey).toBe('default');
    expect(() => statSync(path.join(cwd, 'data'))).toThrow();

    const started = loadSettings({ env: {}, cwd, envFile: false });
    const read = loadSettings({ env: {}, cwd, envFile: false, generateDevSecrets: false, readDevSecrets: true });
    expect(read.settings.secretKey).toBe(started.settings.secretKey);
    expect(read.sources.secretKey).toBe('generated');
    expect(read.generated).toEqual([]);
  });

  it('is development only: staging and production ignore the file', () => {
    const cwd = tempDir();
    loadSettings({ env: {}, cwd, envFile: false });
    for (const profile of ['staging', 'production']) {
      expect(problemsOf(() => loadSettings({ env: { WARDEN_ENV: profile }, cwd, envFile: false, readDevSecrets: true }))[0]).toMatch(
        /^WARDEN_SECRET_KEY is missing/,
      );
    }
  });

  it('reports a damaged file as a configuration problem naming the file, never its content', () => {
    const cwd = tempDir();
    mkdirSync(path.join(cwd, 'data'));
    writeFileSync(path.join(cwd, 'data', 'dev-secrets.json'), '{"secrets": {"WARDEN_SECRET_KEY": "half-a-secret');
    for (const options of [{}, { generateDevSecrets: false, readDevSecrets: true }]) {
      const problems = problemsOf(() => loadSettings({ env: {}, cwd, envFile: false, ...options }));
      expect(problems).toEqual([
        `WARDEN_SECRET_KEY cannot be taken from the development secrets: ${path.join(cwd, 'data', 'dev-secrets.json')} is not valid JSON; restore it (deleting it makes new development secrets, which a database set up with the old ones refuses)`,
      ]);
    }
  });
});

describe('reporting instead of refusing (refuseUnsafe: false, for warden config check)', () => {
  it('returns what production refuses as warnings, still refusing values that do not parse', () => {
    const env = { WARDEN_ENV: 'production', WARDEN_CORS_ORIGINS: '*' };
    expect(problemsOf(() => loadSettings({ env, cwd: tempDir(), envFile: false }))).toHaveLength(2);
    const reported = loadSettings({ env, cwd: tempDir(), envFile: false, refuseUnsafe: false });
    expect(reported.settings.env).toBe('production');
    expect(reported.warnings).toEqual([
      'WARDEN_SECRET_KEY is missing: set it (or WARDEN_SECRET_KEY_FILE) to at least 32 random bytes, e.g. `openssl rand -base64 48`',
      'WARDEN_CORS_ORIGINS allows every origin (*): list the exact origins instead',
    ]);
    expect(problemsOf(() => loadSettings({ env: { ...env, WARDEN_PORT: 'x' }, cwd: tempDir(), envFile: false, refuseUnsafe: false }))).toEqual([
      'WARDEN_PORT must be a whole number, got "x"',
    ]);
  });
});
