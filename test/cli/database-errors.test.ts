import { writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { procIsProcfs } from '../helpers/child-module.js';
import { runWarden } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { TEST_PG_URL } from '../helpers/services.js';

// An operator whose database cannot be used learns why from `warden migrate` and `warden serve`
// (the driver's reason and the database, password masked), exit 69; the password never appears.

const tmp = scratchDirs('warden-db-errors-');

/** Runs `migrate` and `serve` against `url`; both must fail the same way. */
async function bothFail(url: string, timeoutMs?: number): Promise<{ stderr: string; everything: string }[]> {
  const results = [];
  for (const args of [['migrate'], ['serve', '--port', '0']]) {
    const result = await runWarden(args, {
      timeoutMs,
      cwd: tmp(),
      env: {
        WARDEN_SECRET_KEY: TEST_SECRET_KEY,
        WARDEN_DATABASE_URL: url,
        WARDEN_DB_STATEMENT_TIMEOUT_MS: '3000',
        WARDEN_LOG_LEVEL: 'warn',
      },
    });
    expect(result.code, `${args[0]}: ${result.stderr}`).toBe(69);
    results.push({ stderr: result.stderr, everything: result.stdout + result.stderr });
  }
  return results;
}

/** A TCP port on 127.0.0.1 where nothing listens (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function withPath(url: string, change: (u: URL) => void): string {
  const u = new URL(url);
  change(u);
  return u.toString();
}

describe('database connection failures name the reason', () => {
  it('a port where nothing listens: the connect error with the address', async () => {
    const port = await closedPort();
    const url = `postgres://warden:pw-never-shown-1@127.0.0.1:${port}/warden`;
    for (const { stderr, everything } of await bothFail(url)) {
      expect(stderr).toContain(
        `warden: The database is unreachable: connect ECONNREFUSED 127.0.0.1:${port} (storage_unavailable)`,
      );
      expect(stderr).toContain(`  database: postgres://warden:********@127.0.0.1:${port}/warden`);
      expect(everything).not.toContain('pw-never-shown-1');
    }
  });

  it('a SQLite path that cannot be created: the file-system error, not an unexpected error', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'a-file'), '');
    const url = `sqlite:${path.join(dir, 'a-file', 'warden.db')}`;
    for (const { stderr } of await bothFail(url)) {
      expect(stderr).toMatch(
        /^warden: The database cannot be opened: E\w+: .*a-file.* \(storage_unavailable\)$/m,
      );
      expect(stderr).toContain(`  database: ${url}`);
    }
  });
});

const procfs = procIsProcfs();
if (!procfs) {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPING the SQLite-under-/proc CLI test: /proc is not procfs on this system.\n${bar}\n`);
}

describe.skipIf(!procfs)('a SQLite path under /proc', () => {
  it('fails at once naming the directory procfs will not create, instead of hanging', async () => {
    // procfs answers mkdir with ENOENT although /proc exists; Node's recursive mkdir retried
    // that for ever, so `warden migrate` never returned (runWarden kills it after 10 s here).
    const url = `sqlite:/proc/warden-cli-${process.pid}/warden.db`;
    for (const { stderr } of await bothFail(url, 10_000)) {
      expect(stderr).toContain(
        `warden: The database cannot be opened: ENOENT: cannot create directory '/proc/warden-cli-${process.pid}': mkdir answered "no such file or directory" although '/proc' exists: that file system does not allow creating directories (a virtual one such as /proc) (storage_unavailable)`,
      );
      expect(stderr).toContain(`  database: ${url}`);
    }
  });
});

describe.skipIf(!inject('postgresAvailable'))(
  'database connection failures name the reason [postgres]',
  () => {
    it('a database that does not exist', async () => {
      const url = withPath(TEST_PG_URL, (u) => (u.pathname = '/warden_no_such_db'));
      for (const { stderr } of await bothFail(url)) {
        expect(stderr).toContain(
          'warden: The database is unreachable: database "warden_no_such_db" does not exist (storage_unavailable)',
        );
      }
    });

    it('a user the server refuses, with the URL password masked everywhere', async () => {
      // The test server trusts local connections, so the refusal is the unknown role; a wrong
      // password is refused the same way ('password authentication failed for user "…"').
      const url = withPath(TEST_PG_URL, (u) => {
        u.username = 'warden_no_such_user';
        u.password = 'S3cret-Pa55word';
      });
      for (const { stderr, everything } of await bothFail(url)) {
        expect(stderr).toMatch(
          /^warden: The database is unreachable: (role "warden_no_such_user" does not exist|password authentication failed for user "warden_no_such_user") \(storage_unavailable\)$/m,
        );
        expect(stderr).toContain('warden_no_such_user:********@');
        expect(everything).not.toContain('S3cret-Pa55word');
      }
    });

    it('sslmode=verify-full against a server without TLS', async (context) => {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      const ssl = (await client.query<{ ssl: string }>('show ssl')).rows[0]?.ssl;
      await client.end();
      if (ssl !== 'off') context.skip();
      const url = withPath(TEST_PG_URL, (u) => u.searchParams.set('sslmode', 'verify-full'));
      for (const { stderr } of await bothFail(url)) {
        expect(stderr).toContain(
          'warden: The database is unreachable: The server does not support SSL connections (storage_unavailable)',
        );
      }
    });
  },
);
