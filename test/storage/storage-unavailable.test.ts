import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseFailureReason, openDatabase, StorageUnavailableError } from '../../src/storage/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('StorageUnavailableError', () => {
  it('keeps the generic message (it may reach an HTTP body) and carries the reason and the masked database for operators', async () => {
    const url = 'postgres://warden:db-pass-w0rd@127.0.0.1:1/warden?sslpassword=tls-pass-w0rd';
    const storage = openDatabase(url, { statementTimeoutMs: 1000 });
    try {
      const failure = (await storage.ping().then(
        () => undefined,
        (error: unknown) => error,
      )) as StorageUnavailableError;
      expect(failure).toBeInstanceOf(StorageUnavailableError);
      expect(failure.code).toBe('storage_unavailable');
      expect(failure.status).toBe(503);
      expect(failure.message).toBe('The database is unreachable');
      expect(failure.reason).toBe('connect ECONNREFUSED 127.0.0.1:1');
      expect(failure.target).toBe('postgres://warden:********@127.0.0.1:1/warden?sslpassword=********');
      expect(JSON.stringify({ ...failure, message: failure.message })).not.toMatch(/pass-w0rd/);
    } finally {
      await storage.close();
    }
  });

  it('a SQLite file that is not a database fails to open with the driver’s reason, not a bare driver error', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-not-a-db-'));
    dirs.push(dir);
    const file = path.join(dir, 'warden.db');
    writeFileSync(
      file,
      'this is not a SQLite database, just text that is long enough to be read as a header page',
    );
    let failure: unknown;
    try {
      openDatabase(`sqlite:${file}`);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as StorageUnavailableError).message).toBe('The database cannot be opened');
    expect((failure as StorageUnavailableError).reason).toMatch(/not a database/);
    expect((failure as StorageUnavailableError).target).toBe(`sqlite:${file}`);
  });
});

describe('databaseFailureReason', () => {
  const url =
    'postgres://app:p%40ss%2Fw0rd@db.internal:5432/warden?password=query-secret&application_name=warden';

  it('never repeats a secret of the URL, as written or decoded, even when a driver quotes it', () => {
    const quoted = new Error(
      'could not connect with password "p@ss/w0rd" (encoded p%40ss%2Fw0rd), also query-secret',
    );
    const reason = databaseFailureReason(quoted, url);
    expect(reason).toBe('could not connect with password "********" (encoded ********), also ********');
  });

  it('scrubs a password with a "+" in both decodings (pg keeps the "+", form decoding makes it a space)', () => {
    const plus = 'postgres://app:a+b%21c@db.internal:5432/warden';
    expect(databaseFailureReason(new Error('as pg uses it: a+b!c; as a form: a b!c'), plus)).toBe('as pg uses it: ********; as a form: ********');
  });

  it('joins the attempts of a multi-address connect (AggregateError) and falls back to the code', () => {
    const first = Object.assign(new Error('connect ECONNREFUSED ::1:5433'), { code: 'ECONNREFUSED' });
    const second = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' });
    expect(databaseFailureReason(new AggregateError([first, second], ''), url)).toBe(
      'connect ECONNREFUSED ::1:5433; connect ECONNREFUSED 127.0.0.1:5433',
    );
    expect(databaseFailureReason(Object.assign(new Error(''), { code: 'ETIMEDOUT' }), url)).toBe('ETIMEDOUT');
  });

  it('adds what a connection timeout wraps, on one line', () => {
    const timeout = new Error('Connection terminated due to connection timeout', {
      cause: new Error('Connection terminated\nunexpectedly'),
    });
    expect(databaseFailureReason(timeout, url)).toBe(
      'Connection terminated due to connection timeout; Connection terminated unexpectedly',
    );
  });
});
