import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { devSecret, loadSettings } from '../../src/config/index.js';
import { generateFernetKey } from '../../src/crypto/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

const scratch = scratchDirs('warden-prodcheck-');

/** Output of `openssl rand -base64 48`, the command the docs recommend. */
const STRONG = '4OnucoqIGpmY+x1sMt63GVIJj9YInmlG3iGujPZ1EEEMJOEA7Rl6gBtYWUti2Xq3';

function load(env: Record<string, string>): ReturnType<typeof loadSettings> {
  return loadSettings({ env, cwd: scratch(), envFile: false });
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
      /^WARDEN_SECRET_KEY is too weak: about \d+ bytes of entropy \(.*consecutive characters.*\), at least 32 are required: generate one with `openssl rand -base64 48`$/,
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
      'WARDEN_METRICS_TOKEN is too weak: about 2 bytes of entropy (it contains runs of consecutive characters in alphabet, digit or keyboard order (or of bytes in value order)), at least 16 are required: generate one with `openssl rand -hex 32`',
    ]);
  });
});

describe('production refuses secrets made of text', () => {
  it.each([
    ['base64 of an English sentence', 'dGhpcyBpcyBteSBzZWNyZXQga2V5IGZvciB0aGUgd2FyZGVuIHNlcnZpY2U=', 'readable text in hex or base64'],
    ['hex of an English sentence', Buffer.from('this is my secret key for the warden service').toString('hex'), 'readable text in hex or base64'],
    ['words, a year and punctuation', 'MyCompanyName-Production-Warden-Secret-Key-2024!!', 'common words'],
    ['camel-cased words and a year', 'ThisIsMyVerySecretProductionKeyForWardenService2024', 'common words'],
    ['words spelt with look-alike characters', 'MyC0mpanyN@me-Pr0duct10n-W@rden-S3cret-K3y-2024!!', 'common words'],
    ['the base64 of a test-only phrase these tests used to call strong', 'Qm9vdHN0cmFwLXNlY3JldC1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkwYWJjZGVm', 'readable text'],
  ])('refuses %s as WARDEN_SECRET_KEY, saying why and what to do', (_name, value, reason) => {
    const problems = refusal({ WARDEN_SECRET_KEY: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^WARDEN_SECRET_KEY is too weak: about \d+ bytes of entropy \(.+\), at least 32 are required: generate one with `openssl rand -base64 48`$/,
    );
    expect(problems[0]).toContain(reason);
    expect(problems[0]).not.toContain(value.slice(0, 10));
  });

  it('names the year as well as the words', () => {
    expect(refusal({ WARDEN_SECRET_KEY: 'MyCompanyName-Production-Warden-Secret-Key-2024!!' })[0]).toContain(
      'it contains common words, which count as about 2 bytes each; it contains a year',
    );
  });

  it('refuses a metrics token made of words, saying why and what to do', () => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_METRICS_TOKEN: 'metrics-token-for-prometheus-scraper' })).toEqual([
      'WARDEN_METRICS_TOKEN is too weak: about 11 bytes of entropy (it contains common words, which count as about 2 bytes each), at least 16 are required: generate one with `openssl rand -hex 32`',
    ]);
  });

  it('refuses a known example value as the metrics token, as it does for the secret key', () => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_METRICS_TOKEN: 'changeme-changeme-changeme' })).toEqual([
      'WARDEN_METRICS_TOKEN is a known default or example value: generate a random one with `openssl rand -hex 32`',
    ]);
  });

  it('refuses base64 of a known example value as one', () => {
    const encoded = Buffer.from('please-change-this-secret-key-in-production').toString('base64');
    expect(refusal({ WARDEN_SECRET_KEY: encoded })).toEqual([
      'WARDEN_SECRET_KEY is a known default or example value: generate a random one with `openssl rand -base64 48`',
    ]);
  });

  it('staging warns about the same secrets instead of refusing, development says nothing', () => {
    const env = { WARDEN_SECRET_KEY: 'ThisIsMyVerySecretProductionKeyForWardenService2024', WARDEN_METRICS_TOKEN: 'metrics-token-for-prometheus-scraper' };
    const staging = load({ WARDEN_ENV: 'staging', ...env });
    expect(staging.warnings).toHaveLength(2);
    expect(staging.warnings[0]).toMatch(/^WARDEN_SECRET_KEY is too weak: /);
    expect(staging.warnings[1]).toMatch(/^WARDEN_METRICS_TOKEN is too weak: /);
    const development = load({ WARDEN_ENV: 'development', ...env });
    expect(development.warnings).toEqual([]);
    expect(development.settings.secretKey).toBe(env.WARDEN_SECRET_KEY);
  });
});

describe('production accepts the secrets Warden generates and recommends', () => {
  const accepts = (env: Record<string, string>): void => {
    expect(load({ WARDEN_ENV: 'production', ...env }).warnings).toEqual([]);
  };

  it('accepts the development secret Warden generates', () => {
    const dir = scratch();
    for (let i = 0; i < 20; i++) accepts({ WARDEN_SECRET_KEY: devSecret(dir, `S${i}`).value });
  });

  it.each([
    ['openssl rand -base64 48', () => randomBytes(48).toString('base64')],
    ['openssl rand -base64 32', () => randomBytes(32).toString('base64')],
    ['openssl rand -hex 32', () => randomBytes(32).toString('hex')],
    ['randomBytes(32) as base64url', () => randomBytes(32).toString('base64url')],
    ['warden crypto keygen --format fernet', () => generateFernetKey()],
  ])('accepts %s as the secret key', (_name, generate) => {
    for (let i = 0; i < 200; i++) accepts({ WARDEN_SECRET_KEY: generate() });
  });

  it.each([
    ['openssl rand -hex 32', () => randomBytes(32).toString('hex')],
    ['openssl rand -hex 16', () => randomBytes(16).toString('hex')],
    ['16 random bytes as base64url', () => randomBytes(16).toString('base64url')],
  ])('accepts %s as the metrics token', (_name, generate) => {
    for (let i = 0; i < 200; i++) accepts({ WARDEN_SECRET_KEY: STRONG, WARDEN_METRICS_TOKEN: generate() });
  });

  it('accepts the secret key the other test suites use in production', () => {
    accepts({ WARDEN_SECRET_KEY: TEST_SECRET_KEY });
    accepts({ WARDEN_SECRET_KEY: STRONG });
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

  it('reports only the whole family when a list covers it, not its wide parts as well', () => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: '0.0.0.0/1, 128.0.0.0/1' })).toHaveLength(1);
  });
});

describe('WARDEN_TRUST_PROXY trusting large parts of the internet', () => {
  it.each([
    ['0.0.0.0/1', '0.0.0.0/1'],
    ['0.0.0.0/1,128.0.0.0/2', '0.0.0.0/1, 128.0.0.0/2'],
    ['8.0.0.0/8', '8.0.0.0/8'],
    ['10.0.0.0/7', '10.0.0.0/7'],
    ['104.0.0.0/11, 10.0.0.0/8', '104.0.0.0/11'],
    ['::/1', '::/1'],
    ['2000::/3', '2000::/3'],
    ['2001:db8::/27', '2001:db8::/27'],
    ['::ffff:0.0.0.0/97', '::ffff:0.0.0.0/97'],
  ])('production refuses %s, naming the wide entries', (value, named) => {
    const problems = refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value });
    expect(problems).toEqual([
      `WARDEN_TRUST_PROXY trusts public ranges wider than /12 (IPv4) or /28 (IPv6): ${named}; any host in them could choose its client IP through X-Forwarded-For; list the proxies' own addresses or subnets`,
    ]);
  });

  it.each(['6', '10', '64'])('production refuses the hop count %s', (value) => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value })).toEqual([
      `WARDEN_TRUST_PROXY=${value} trusts more hops than production allows (5): with fewer proxies than that in front, clients choose their own IP through X-Forwarded-For; give the exact number of proxies or their addresses`,
    ]);
  });

  it('staging warns about a wide range and a large hop count, development says nothing', () => {
    for (const value of ['0.0.0.0/1', '64']) {
      expect(load({ WARDEN_ENV: 'staging', WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value }).warnings).toEqual([
        expect.stringMatching(/^WARDEN_TRUST_PROXY/),
      ]);
      expect(load({ WARDEN_ENV: 'development', WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value }).warnings).toEqual([]);
    }
  });

  it.each([
    '10.0.0.0/8, 192.168.1.5',
    '172.16.0.0/12',
    '100.64.0.0/10',
    'loopback, uniquelocal',
    'loopback, linklocal, uniquelocal',
    'fc00::/7, fe80::/10',
    '::ffff:10.0.0.0/104',
    '2001:db8::/32',
    // Cloudflare's published proxy ranges, the widest a large CDN publishes.
    '173.245.48.0/20, 103.21.244.0/22, 141.101.64.0/18, 198.41.128.0/17, 162.158.0.0/15, 104.16.0.0/13, 104.24.0.0/14, 172.64.0.0/13',
    '2400:cb00::/32, 2606:4700::/32, 2a06:98c0::/29',
    '104.16.0.0/12',
    '203.0.113.7',
    '1',
    '5',
  ])('production accepts %s', (value) => {
    expect(
      load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_TRUST_PROXY: value }).warnings,
    ).toEqual([]);
  });
});

describe('WARDEN_REQUIRE_SHARED_DB with the SQLite default (behaviour as documented)', () => {
  const env = { WARDEN_SECRET_KEY: STRONG, WARDEN_REQUIRE_SHARED_DB: 'true', WARDEN_REDIS_URL: 'redis://redis.internal:6379' };
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

describe('an in-memory SQLite database', () => {
  const message =
    'WARDEN_DATABASE_URL is an in-memory SQLite database: users, keys and the audit log would vanish at every restart; use a file or a postgres:// URL';

  it('production refuses to start (the audit log would not survive a restart)', () => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_DATABASE_URL: 'sqlite::memory:' })).toEqual([message]);
  });

  it('development runs on it (tests and demos)', () => {
    expect(load({ WARDEN_ENV: 'development', WARDEN_SECRET_KEY: STRONG, WARDEN_DATABASE_URL: 'sqlite::memory:' }).warnings).toEqual([]);
  });
});

describe('encryption keys and API-key peppers', () => {
  // 32 bytes each, so their parsers accept them: only what the bytes are tells them apart.
  const textKey = Buffer.from('our-encryption-key-for-warden-26').toString('base64url');
  const randomKey = (): string => randomBytes(32).toString('base64url');

  it('production refuses a keyring entry or pepper that is encoded text, naming the entry and how to make one', () => {
    const problems = refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_ENCRYPTION_KEY: `k2:${textKey},k1:${randomKey()}`, WARDEN_API_KEY_PEPPER: `2:${textKey}` });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^WARDEN_ENCRYPTION_KEY \(key k2\) is too weak: .*`warden crypto keygen --format aes-gcm`$/);
    expect(problems[1]).toMatch(/^WARDEN_API_KEY_PEPPER \(version 2\) is too weak: .*openssl rand -base64 32/);
    for (const line of problems) expect(line).not.toContain(textKey);
  });

  it('production accepts random ones', () => {
    expect(load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_ENCRYPTION_KEY: `k2:${randomKey()},k1:${randomKey()}`, WARDEN_API_KEY_PEPPER: `3:${randomKey()},2:${randomKey()}` }).warnings).toEqual([]);
  });

  // docs/api-keys.md's two-step pepper rollout: first every instance knows version 2 while the
  // derived version 1 (a bare 1, no key of its own) stays active, then 2 becomes active.
  it('production accepts the bare 1 of the two-step pepper rollout, in either position', () => {
    const pepper = randomKey();
    for (const setting of [`1,2:${pepper}`, `2:${pepper},1`]) {
      expect(load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_API_KEY_PEPPER: setting }).warnings, setting).toEqual([]);
    }
  });
});

describe('production warns about HTTP hardening turned down from its defaults', () => {
  const warningsOf = (env: Record<string, string>) => load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, ...env }).warnings;

  it('has nothing to say about the defaults, https origins or loopback http origins', () => {
    expect(warningsOf({})).toEqual([]);
    expect(warningsOf({ WARDEN_CORS_ORIGINS: 'https://app.example.com,http://localhost:5173,http://127.0.0.1:3000' })).toEqual([]);
    expect(warningsOf({ WARDEN_CSP: "default-src 'none'; frame-ancestors 'none'" })).toEqual([]);
  });

  it.each([
    [{ WARDEN_CORS_ORIGINS: 'https://app.example.com,http://app.example.com' }, 'WARDEN_CORS_ORIGINS allows plain-http origins (http://app.example.com): a page served without TLS can be altered in transit and then call Warden with its users\' credentials; use https origins'],
    [{ WARDEN_HSTS_MAX_AGE: '0' }, 'WARDEN_HSTS_MAX_AGE is 0: browsers are told to forget that this host is HTTPS-only; keep the default unless a proxy in front sends HSTS'],
    [{ WARDEN_CSP: 'default-src *' }, "WARDEN_CSP has no default-src, or one that allows every source (*): Warden's answers are JSON, and the default (default-src 'self'; frame-ancestors 'none') costs nothing"],
    [{ WARDEN_CSP: "frame-ancestors 'none'" }, "WARDEN_CSP has no default-src, or one that allows every source (*): Warden's answers are JSON, and the default (default-src 'self'; frame-ancestors 'none') costs nothing"],
    [{ WARDEN_RATELIMIT_DEFAULT: 'off' }, 'WARDEN_RATELIMIT_DEFAULT is off: nothing limits request rates per client IP there unless a proxy in front does'],
    [{ WARDEN_RATELIMIT_AUTH: 'OFF' }, 'WARDEN_RATELIMIT_AUTH is off: nothing limits request rates per client IP there unless a proxy in front does'],
  ])('warns, without refusing, for %o', (env, warning) => {
    expect(warningsOf(env)).toEqual([warning]);
  });

  it('refuses a wildcard inside an origin in every profile: it would never match', () => {
    for (const profile of ['development', 'production']) {
      expect(() => load({ WARDEN_ENV: profile, WARDEN_SECRET_KEY: STRONG, WARDEN_CORS_ORIGINS: 'https://*.example.org' })).toThrow(
        'WARDEN_CORS_ORIGINS "https://*.example.org" holds a wildcard: origins are matched exactly, so list each one (only a lone * allows every origin)',
      );
    }
  });
});

describe('production refuses plain http to remote secret stores and model servers, however the scheme is spelt', () => {
  it.each([
    ['WARDEN_VAULT_ADDR', 'http://vault.internal:8200', 'WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit'],
    ['WARDEN_VAULT_ADDR', 'HTTP://vault.internal:8200', 'WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit'],
    ['WARDEN_VAULT_ADDR', 'http://127.0.0.1:8200', 'WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit'],
    ['WARDEN_AWS_ENDPOINT', 'Http://secrets.internal', 'WARDEN_AWS_ENDPOINT uses plain http to a remote host: use https so the secrets it returns are encrypted in transit'],
  ])('refuses %s=%s', (name, value, problem) => {
    const extra: Record<string, string> = name === 'WARDEN_VAULT_ADDR' ? { WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_TOKEN: 'hvs.placeholder-for-parsing' } : {};
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, [name]: value, ...extra })).toContain(problem);
  });

  it('refuses HTTP:// (any case) to a remote model server, and accepts loopback and https', () => {
    const problem = 'WARDEN_LLM_URL uses plain http to a remote host: use https so the API key and the log excerpts are encrypted in transit';
    for (const url of ['HTTP://llm.example.com/v1', 'Http://llm.example.com/v1', 'http://10.0.0.7:11434/v1']) {
      expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_LLM_URL: url, WARDEN_LLM_MODEL: 'm' }), url).toContain(problem);
    }
    for (const url of ['http://localhost:11434/v1', 'HTTP://127.0.0.1:11434/v1', 'http://127.0.0.2:11434/v1', 'http://[::1]:11434/v1', 'https://llm.example.com/v1']) {
      expect(load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_LLM_URL: url, WARDEN_LLM_MODEL: 'm' }).settings.llmUrl, url).toBe(url);
    }
  });
});

describe('WARDEN_REQUIRE_SHARED_DB without WARDEN_REDIS_URL', () => {
  // Several instances without a shared Redis: a logout, deactivation or revoked key on one
  // instance is not seen by the others, and rate limits and lockouts count per instance.
  const env = { WARDEN_SECRET_KEY: STRONG, WARDEN_REQUIRE_SHARED_DB: 'true', WARDEN_DATABASE_URL: 'postgres://warden@db.internal:5432/warden?sslmode=verify-full' };
  const message =
    'WARDEN_REDIS_URL is unset while WARDEN_REQUIRE_SHARED_DB is set: revocations, rate limits and lockouts would be per instance; set the Redis all instances share';

  it('production refuses to start, staging warns, development ignores it', () => {
    expect(refusal(env)).toEqual([message]);
    expect(load({ WARDEN_ENV: 'staging', ...env }).warnings).toEqual([message]);
    expect(load({ WARDEN_ENV: 'development', ...env }).warnings).toEqual([]);
  });

  it('production starts with a shared Redis', () => {
    expect(load({ WARDEN_ENV: 'production', ...env, WARDEN_REDIS_URL: 'redis://redis.internal:6379' }).warnings).toEqual([]);
  });
});

describe('WARDEN_JWT_ISSUER over plain http', () => {
  // The OAuth metadata names the token, introspection and revocation endpoints on the issuer:
  // clients discovering them would send their secrets in clear.
  it('production refuses a remote http:// issuer, naming the variable', () => {
    expect(refusal({ WARDEN_SECRET_KEY: STRONG, WARDEN_JWT_ISSUER: 'http://auth.example.com' })).toEqual([
      'WARDEN_JWT_ISSUER uses plain http to a remote host: OAuth clients would send their secrets in clear to the endpoints it names; use https',
    ]);
  });

  it('but starts with an https, loopback or non-URL issuer', () => {
    for (const issuer of ['https://auth.example.com', 'http://localhost:8080', 'http://127.0.0.1:8080', 'warden']) {
      expect(load({ WARDEN_ENV: 'production', WARDEN_SECRET_KEY: STRONG, WARDEN_JWT_ISSUER: issuer }).warnings, issuer).toEqual([]);
    }
  });
});
