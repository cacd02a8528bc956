import { describe, expect, it } from 'vitest';
import { ValidationError, WardenError } from '../../src/errors/index.js';
import { isDatabaseOutage, StorageUnavailableError } from '../../src/storage/index.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('isDatabaseOutage: the database cannot be used, or it refused one statement', () => {
  it('counts an unreachable, shutting-down, full or locked database as an outage', () => {
    for (const error of [
      new StorageUnavailableError('The database is unreachable', new Error('connect ECONNREFUSED 127.0.0.1:5432')),
      new WardenError('service_unavailable', 'down'),
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('connection failure', '08006'),
      withCode('too many connections', '53300'),
      withCode('database is locked', 'SQLITE_BUSY'),
      withCode('disk I/O error', 'SQLITE_IOERR_WRITE'),
      withCode('database or disk is full', 'SQLITE_FULL'),
      new Error('Connection terminated unexpectedly'),
    ]) {
      expect(isDatabaseOutage(error), error.message).toBe(true);
    }
  });

  it('does not count a refused statement or bad data as one', () => {
    for (const error of [
      new ValidationError('bad email', { field: 'email' }),
      new WardenError('conflict', 'taken'),
      withCode('invalid byte sequence for encoding "UTF8": 0x00', '22021'),
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('UNIQUE constraint failed: users.email_lookup', 'SQLITE_CONSTRAINT_UNIQUE'),
      new TypeError("Cannot read properties of null (reading 'email')"),
      'not even an error',
    ]) {
      expect(isDatabaseOutage(error), String(error)).toBe(false);
    }
  });
});
