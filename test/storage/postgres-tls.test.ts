import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { openDatabase, StorageUnavailableError } from '../../src/storage/index.js';
import { postgresTlsWarning, resolvePostgresTls } from '../../src/storage/postgres-tls.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import {
  createSelfSignedCertificate,
  opensslAvailable,
  startPgTlsProxy,
  type PgTlsProxy,
  type TestCertificate,
} from '../helpers/pg-tls-proxy.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { TEST_PG_URL } from '../helpers/services.js';

// Warden gives sslmode libpq's meaning (docs/configuration.md), not pg 8's, which treats
// prefer, require and verify-ca as verify-full and prints a SECURITY WARNING saying pg 9 will
// change that. End to end against a TLS proxy in front of the (TLS-less) test server.

const scratch = scratchDirs('warden-pg-tls-');

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Runs `select 1` through Warden's openDatabase; resolves to the failure (or undefined). */
async function queryThrough(url: string): Promise<unknown> {
  const storage = openDatabase(url, { statementTimeoutMs: 5000, poolSize: 1 });
  try {
    await storage.ping();
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(storage.db);
    expect(rows).toEqual([{ one: 1 }]);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await storage.close();
  }
}

describe('sslmode as libpq defines it', () => {
  it.each([
    ['disable', 'postgres://h/d?sslmode=disable', 'nothing', false],
    [
      'allow: in clear, libpq’s first try (pg cannot retry)',
      'postgres://h/d?sslmode=allow',
      'nothing',
      false,
    ],
    ['prefer', 'postgres://h/d?sslmode=prefer', 'nothing', true],
    [
      'prefer with a CA file (libpq does not verify either)',
      'postgres://h/d?sslmode=prefer&sslrootcert=/ca.pem',
      'nothing',
      true,
    ],
    ['require', 'postgres://h/d?sslmode=require', 'nothing', true],
    [
      'require with a CA file = verify-ca',
      'postgres://h/d?sslmode=require&sslrootcert=/ca.pem',
      'chain',
      true,
    ],
    ['verify-ca', 'postgres://h/d?sslmode=verify-ca&sslrootcert=/ca.pem', 'chain', true],
    ['verify-full', 'postgres://h/d?sslmode=verify-full', 'chain-and-host', true],
    ['sslrootcert=system implies verify-full', 'postgres://h/d?sslrootcert=system', 'chain-and-host', true],
    ['no sslmode: in clear, as pg does', 'postgres://h/d', 'nothing', false],
  ] as const)('%s', (_label, url, verifies, alwaysEncrypted) => {
    const tls = resolvePostgresTls(url);
    expect(tls.verifies).toBe(verifies);
    expect(tls.alwaysEncrypted).toBe(alwaysEncrypted);
  });

  it('hands pg the URL with uselibpqcompat=true, every other parameter exactly as written', () => {
    const url =
      'postgres://app:p%40ss@db:5432/w?options=-c%20search_path%3Dapp&uselibpqcompat=false&sslmode=require&application_name=x#frag';
    expect(resolvePostgresTls(url).connectionString).toBe(
      'postgres://app:p%40ss@db:5432/w?options=-c%20search_path%3Dapp&application_name=x&sslmode=require&uselibpqcompat=true#frag',
    );
    expect(resolvePostgresTls('postgres://db/w?sslmode=allow').connectionString).toBe(
      'postgres://db/w?sslmode=disable&uselibpqcompat=true',
    );
    expect(resolvePostgresTls('postgres://db/w?sslrootcert=system').connectionString).toBe(
      'postgres://db/w?sslmode=verify-full&uselibpqcompat=true',
    );
    // Nothing to decide: left to pg as it was.
    expect(resolvePostgresTls('postgres://db/w?application_name=x').connectionString).toBe(
      'postgres://db/w?application_name=x',
    );
  });

  it('takes PGSSLMODE when the URL has no sslmode, as libpq does; the URL’s wins', () => {
    expect(resolvePostgresTls('postgres://db/w', 'require')).toMatchObject({
      sslmode: 'require',
      sslmodeFrom: 'PGSSLMODE',
      connectionString: 'postgres://db/w?sslmode=require&uselibpqcompat=true',
    });
    expect(resolvePostgresTls('postgres://db/w?sslmode=verify-full', 'disable')).toMatchObject({
      sslmode: 'verify-full',
      sslmodeFrom: 'url',
    });
    expect(resolvePostgresTls('postgres://db/w', '')).toMatchObject({ sslmode: undefined });
  });

  it.each([
    [
      'postgres://h/d?sslmode=no-verify',
      /^sslmode "no-verify" is not one of disable, allow, prefer, require, verify-ca, verify-full \(no-verify is the pg driver’s name for what libpq calls require\)$/,
    ],
    ['postgres://h/d?sslmode=verify_full', /^sslmode "verify_full" is not one of/],
    ['postgres://h/d?sslmode=verify-ca', /^sslmode=verify-ca needs sslrootcert=/],
    [
      'postgres://h/d?sslmode=require&sslrootcert=system',
      /^sslmode=require cannot be used with sslrootcert=system: use sslmode=verify-full/,
    ],
  ])('refuses %s when opening, naming the reason (storage_unavailable)', (url, reason) => {
    let failure: unknown;
    try {
      openDatabase(url);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as StorageUnavailableError).message).toBe('The database cannot be opened');
    expect((failure as StorageUnavailableError).reason).toMatch(reason);
  });

  it('refuses an unknown PGSSLMODE the same way', () => {
    vi.stubEnv('PGSSLMODE', 'sometimes');
    expect(() => openDatabase('postgres://h/d')).toThrow(StorageUnavailableError);
  });
});

describe('the start-up warning about a database connection that does not verify the server', () => {
  const load = (env: Record<string, string>): readonly string[] =>
    loadSettings({ env: { WARDEN_SECRET_KEY: TEST_SECRET_KEY, ...env }, cwd: scratch(), envFile: false })
      .warnings;

  it('warns in production and staging, never refuses; development says nothing', () => {
    const url = 'postgres://warden:pw-never-shown@db.internal:5432/warden?sslmode=require';
    const production = load({ WARDEN_ENV: 'production', WARDEN_DATABASE_URL: url });
    expect(production).toEqual([
      "WARDEN_DATABASE_URL uses sslmode=require: the connection to db.internal is encrypted but the server's certificate is not verified, so whoever can intercept the traffic can pose as the database; use sslmode=verify-full with sslrootcert=<CA file> (a warning, not a refusal: a database reached only inside a private network may be acceptable)",
    ]);
    expect(load({ WARDEN_ENV: 'staging', WARDEN_DATABASE_URL: url })).toEqual(production);
    expect(load({ WARDEN_ENV: 'development', WARDEN_DATABASE_URL: url })).toEqual([]);
    expect(production.join('\n')).not.toContain('pw-never-shown');
  });

  it.each([
    [
      'no sslmode',
      'postgres://db.internal/w',
      /^WARDEN_DATABASE_URL sets no sslmode: the connection to db\.internal is not encrypted/,
    ],
    [
      'disable',
      'postgres://db.internal/w?sslmode=disable',
      /^WARDEN_DATABASE_URL uses sslmode=disable: .* not encrypted/,
    ],
    [
      'allow',
      'postgres://db.internal/w?sslmode=allow',
      /^WARDEN_DATABASE_URL uses sslmode=allow: .* not encrypted/,
    ],
    [
      'prefer, even with a CA file',
      'postgres://db.internal/w?sslmode=prefer&sslrootcert=/ca.pem',
      /^WARDEN_DATABASE_URL uses sslmode=prefer: .* not verified/,
    ],
    [
      'the host of the host parameter',
      'postgres://localhost/w?host=db.internal&sslmode=require',
      /the connection to db\.internal is encrypted but/,
    ],
  ])('warns about %s', (_label, url, warning) => {
    expect(postgresTlsWarning(url)).toMatch(warning);
  });

  it('names PGSSLMODE when that is where the mode comes from', () => {
    expect(postgresTlsWarning('postgres://db.internal/w', 'prefer')).toMatch(
      /^PGSSLMODE=prefer \(WARDEN_DATABASE_URL sets no sslmode\): /,
    );
    expect(
      load({
        WARDEN_ENV: 'production',
        WARDEN_DATABASE_URL: 'postgres://db.internal/w',
        PGSSLMODE: 'verify-full',
      }),
    ).toEqual([]);
  });

  it.each([
    ['verify-full', 'postgres://db.internal/w?sslmode=verify-full&sslrootcert=/ca.pem'],
    [
      'verify-ca (chain checked against the CA the operator chose)',
      'postgres://db.internal/w?sslmode=verify-ca&sslrootcert=/ca.pem',
    ],
    ['require with a CA file (= verify-ca)', 'postgres://db.internal/w?sslmode=require&sslrootcert=/ca.pem'],
    ['a server on this machine', 'postgres://127.0.0.1/w?sslmode=disable'],
    ['localhost', 'postgres://localhost/w'],
    ['IPv6 loopback', 'postgres://[::1]:5432/w?sslmode=require'],
    ['a Unix socket', 'postgres://warden@/w?host=/var/run/postgresql'],
    ['an sslmode opening refuses anyway', 'postgres://db.internal/w?sslmode=no-verify'],
  ])('does not warn about %s', (_label, url) => {
    expect(postgresTlsWarning(url)).toBeUndefined();
  });
});

const postgresAvailable = inject('postgresAvailable');
const openssl = opensslAvailable();
if (postgresAvailable && !openssl) {
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING the PostgreSQL TLS tests: the openssl command is missing (it makes their certificates).\n${bar}\n`,
  );
}

describe.skipIf(!postgresAvailable || !openssl)(
  'sslmode end to end, through a TLS proxy in front of the test server [postgres]',
  () => {
    const upstream = new URL(TEST_PG_URL);
    const processWarnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      processWarnings.push(warning);
    };
    let certificate: TestCertificate;
    let otherCa: TestCertificate;
    let proxy: PgTlsProxy;

    beforeAll(async () => {
      process.on('warning', onWarning);
      // Names only DNS:localhost, so that 127.0.0.1 passes a chain check but not a host check.
      certificate = createSelfSignedCertificate('DNS:localhost');
      otherCa = createSelfSignedCertificate('DNS:localhost');
      proxy = await startPgTlsProxy(
        { host: upstream.hostname, port: Number(upstream.port || 5432) },
        certificate,
      );
    });

    afterAll(async () => {
      process.off('warning', onWarning);
      await proxy.close();
      certificate.remove();
      otherCa.remove();
    });

    /** The test server's user and database, reached through the proxy at `host`, with `query`. */
    const via = (host: 'localhost' | '127.0.0.1', query: string, password = ''): string => {
      const user =
        upstream.username === '' ? '' : `${upstream.username}${password === '' ? '' : `:${password}`}@`;
      return `postgres://${user}${host}:${proxy.port}${upstream.pathname}${query === '' ? '' : `?${query}`}`;
    };

    /** The ways the connections made during `work` talked to the proxy. */
    async function connectionsDuring(work: () => Promise<void>): Promise<string[]> {
      const before = proxy.connections.length;
      await work();
      return [...new Set(proxy.connections.slice(before))];
    }

    /** The failure of a query through `url`: a StorageUnavailableError with its reason. */
    async function failureOf(url: string): Promise<StorageUnavailableError> {
      const failure = await queryThrough(url);
      expect(failure).toBeInstanceOf(StorageUnavailableError);
      return failure as StorageUnavailableError;
    }

    it('require: encrypts without verifying (a self-signed certificate is accepted), with no SECURITY WARNING', async () => {
      expect(
        await connectionsDuring(async () =>
          expect(await queryThrough(via('127.0.0.1', 'sslmode=require'))).toBeUndefined(),
        ),
      ).toEqual(['tls']);
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(processWarnings.map((w) => w.message).filter((m) => m.includes('SECURITY WARNING'))).toEqual([]);
    });

    it('prefer: encrypts without verifying', async () => {
      expect(
        await connectionsDuring(async () =>
          expect(await queryThrough(via('127.0.0.1', 'sslmode=prefer'))).toBeUndefined(),
        ),
      ).toEqual(['tls']);
    });

    it.each(['allow', 'disable'])('%s: in clear', async (mode) => {
      expect(
        await connectionsDuring(async () =>
          expect(await queryThrough(via('127.0.0.1', `sslmode=${mode}`))).toBeUndefined(),
        ),
      ).toEqual(['plain']);
    });

    it('PGSSLMODE=require applies libpq’s require when the URL has no sslmode', async () => {
      vi.stubEnv('PGSSLMODE', 'require');
      expect(
        await connectionsDuring(async () => expect(await queryThrough(via('127.0.0.1', ''))).toBeUndefined()),
      ).toEqual(['tls']);
    });

    it('verify-full without sslrootcert: the certificate is checked against the public CAs and refused, reported as storage_unavailable', async () => {
      const url = via('localhost', 'sslmode=verify-full', 'pw-never-shown-2');
      const failure = await failureOf(url);
      expect(failure.message).toBe('The database is unreachable');
      expect(failure.reason).toMatch(/self[- ]signed certificate/);
      expect(failure.target).toBe(url.replace('pw-never-shown-2', '********'));
      expect(JSON.stringify({ ...failure, message: failure.message })).not.toContain('pw-never-shown-2');
    });

    it('sslrootcert=system: the same public CAs, not a file named "system"', async () => {
      expect((await failureOf(via('localhost', 'sslrootcert=system'))).reason).toMatch(
        /self[- ]signed certificate/,
      );
    });

    it('verify-full with sslrootcert: connects to the host the certificate names', async () => {
      expect(
        await queryThrough(via('localhost', `sslmode=verify-full&sslrootcert=${certificate.certFile}`)),
      ).toBeUndefined();
    });

    it('verify-full with sslrootcert: refuses a host the certificate does not name', async () => {
      const failure = await failureOf(
        via('127.0.0.1', `sslmode=verify-full&sslrootcert=${certificate.certFile}`),
      );
      expect(failure.reason).toMatch(/Hostname\/IP does not match certificate's altnames/);
    });

    it('verify-ca: checks the chain, not the host name', async () => {
      expect(
        await queryThrough(via('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certificate.certFile}`)),
      ).toBeUndefined();
      expect(
        (await failureOf(via('127.0.0.1', `sslmode=verify-ca&sslrootcert=${otherCa.certFile}`))).reason,
      ).toMatch(/self[- ]signed certificate/);
    });

    it('require with sslrootcert: verifies the chain as verify-ca does (libpq’s rule)', async () => {
      expect(
        await queryThrough(via('127.0.0.1', `sslmode=require&sslrootcert=${certificate.certFile}`)),
      ).toBeUndefined();
      expect(
        (await failureOf(via('127.0.0.1', `sslmode=require&sslrootcert=${otherCa.certFile}`))).reason,
      ).toMatch(/self[- ]signed certificate/);
    });

    it('emitted no SECURITY WARNING in any of these connections', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      expect(processWarnings.map((w) => w.message).filter((m) => m.includes('SECURITY WARNING'))).toEqual([]);
    });
  },
);
