import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCliAgainst } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// A value a command refuses is bad input data (65, docs/operations.md), whichever command took
// it: `users create` with a malformed email and `keys create` or `clients create` with a name
// holding a control character answer alike, so a script can tell bad input from a failed check (1).

const tmp = scratchDirs('warden-refused-values-');
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('a value the command refuses', () => {
  it('exits 65 with the reason, for users, keys and clients alike, and creates nothing', async () => {
    const dir = tmp();
    const db = { dir, url: `sqlite:${path.join(dir, 'warden.db')}` };
    const owner = await runCliAgainst(db, [
      'users',
      'create',
      '--email',
      'owner@example.com',
      '--generate-password',
    ]);
    expect(owner.code, owner.err.join('\n')).toBe(0);

    const cases = [
      ['users', 'create', '--email', 'not an email', '--generate-password'],
      ['keys', 'create', '--name', 'ci\u0007bell', '--owner', 'owner@example.com'],
      ['clients', 'create', '--name', 'ci\u202eevil', '--owner', 'owner@example.com'],
    ];
    for (const args of cases) {
      const refused = await runCliAgainst(db, args);
      expect(refused.code, args.join(' ')).toBe(EXIT.dataError);
      expect(refused.out, args.join(' ')).toEqual([]);
      expect(refused.err.join('\n'), args.join(' ')).toMatch(/^warden: \S.*/);
    }
    const listed = await runCliAgainst(db, ['keys', 'list']);
    expect(listed.out).toEqual([]);
    const clients = await runCliAgainst(db, ['clients', 'list']);
    expect(clients.out).toEqual([]);
  });
});
