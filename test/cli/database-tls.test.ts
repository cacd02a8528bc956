import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import {
  createSelfSignedCertificate,
  opensslAvailable,
  startPgTlsProxy,
  type PgTlsProxy,
  type TestCertificate,
} from '../helpers/pg-tls-proxy.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// `warden migrate` through a TLS-speaking stand-in for PostgreSQL: sslmode has libpq's meaning,
// and pg's "SECURITY WARNING" about its own meaning of it never reaches the operator.

const tmp = scratchDirs('warden-db-tls-');

const postgresAvailable = inject('postgresAvailable');
const openssl = opensslAvailable();
if (postgresAvailable && !openssl) {
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING the CLI PostgreSQL TLS tests: the openssl command is missing (it makes their certificates).\n${bar}\n`,
  );
}

describe.skipIf(!postgresAvailable || !openssl)('warden migrate with sslmode [postgres]', () => {
  let certificate: TestCertificate;
  let proxy: PgTlsProxy;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const upstream = new URL(database.url);
    certificate = createSelfSignedCertificate('DNS:localhost');
    proxy = await startPgTlsProxy(
      { host: upstream.hostname, port: Number(upstream.port || 5432) },
      certificate,
    );
  });

  afterAll(async () => {
    await proxy.close();
    certificate.remove();
    await database.cleanup();
  });

  /** The fresh test database (its own schema), reached through the proxy with `sslmode`. */
  function viaProxy(host: string, query: Record<string, string>): string {
    const url = new URL(database.url);
    url.hostname = host;
    url.port = String(proxy.port);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url.toString();
  }

  function migrate(url: string): ReturnType<typeof runWarden> {
    return runWarden(['migrate'], {
      cwd: tmp(),
      env: {
        WARDEN_SECRET_KEY: TEST_SECRET_KEY,
        WARDEN_DATABASE_URL: url,
        WARDEN_DB_STATEMENT_TIMEOUT_MS: '5000',
        WARDEN_LOG_LEVEL: 'warn',
      },
    });
  }

  it('sslmode=require encrypts without verifying the certificate, with no SECURITY WARNING on stderr', async () => {
    const before = proxy.connections.length;
    const result = await migrate(viaProxy('127.0.0.1', { sslmode: 'require' }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^applied \d+: 0001_core/m);
    expect(result.stderr).not.toMatch(/SECURITY WARNING|Warning/);
    expect(new Set(proxy.connections.slice(before))).toEqual(new Set(['tls']));
  });

  it('sslmode=verify-full with the CA file and the host it names connects', async () => {
    const result = await migrate(
      viaProxy('localhost', { sslmode: 'verify-full', sslrootcert: certificate.certFile }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('sslmode=verify-full without a CA file: the certificate error, exit 69', async () => {
    const result = await migrate(viaProxy('localhost', { sslmode: 'verify-full' }));
    expect(result.code).toBe(69);
    // Node 24 adds advice to OpenSSL's reason ("; if the root CA is installed locally, try …").
    expect(result.stderr).toMatch(
      /^warden: The database is unreachable: self[- ]signed certificate(?:; [^\n]*)? \(storage_unavailable\)$/m,
    );
  });

  it('an sslmode libpq does not know is refused with the valid ones, exit 69', async () => {
    const result = await migrate(viaProxy('127.0.0.1', { sslmode: 'no-verify' }));
    expect(result.code).toBe(69);
    expect(result.stderr).toContain(
      'warden: The database cannot be opened: sslmode "no-verify" is not one of disable, allow, prefer, require, verify-ca, verify-full (no-verify is the pg driver’s name for what libpq calls require) (storage_unavailable)',
    );
  });
});
