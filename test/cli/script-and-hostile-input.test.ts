import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli } from './in-process-cli.js';

/**
 * The CLI as scripts and hostile input meet it: a command group run without its subcommand is
 * a usage error (exit 2), as any wrong command is, while `warden help <group>` succeeds; an
 * import refusing an unknown field never names it when it may be a key; an option typed with a
 * secret value by mistake is named without its value; a UTF-8 byte-order mark is no JSON error.
 */
const tmp = scratchDirs('warden-cli-script-input-');
afterEach(() => vi.unstubAllEnvs());

describe('a group without its subcommand is a usage error (script-reliable exit codes)', () => {
  it.each([[['keys']], [['users']], [['audit']], [[]]])('warden %j exits 2, not 0', async (args) => {
    const result = await cli(tmp(), args as string[]);
    expect(result.code).toBe(2);
  });

  it('warden help keys (asked for) still exits 0', async () => {
    const result = await cli(tmp(), ['help', 'keys']);
    expect(result.code).toBe(0);
  });
});

describe('keys import never echoes a key through an unknown field name', () => {
  it('a key-indexed dump ({"<key>": {…}}) is refused without printing the key', async () => {
    const dir = tmp();
    const key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
    const result = await cli(dir, ['keys', 'import', '--owner', 'a@example.com'], `${JSON.stringify({ [key]: { name: 'billing' } })}\n`);
    expect(result.code).toBe(65);
    expect([...result.out, ...result.err].join('\n')).not.toContain(key.slice(8));
  });
});

describe('a password put on the command line by mistake is not echoed back', () => {
  it('users create --password=<secret> is a usage error whose message does not contain the value', async () => {
    const result = await cli(tmp(), ['users', 'create', '--email', 'x@example.com', '--password=hunter2-correct-horse']);
    expect(result.code).toBe(2);
    expect([...result.out, ...result.err].join('\n')).not.toContain('hunter2-correct-horse');
  });
});

describe('users import reads UTF-8 files written with a byte-order mark', () => {
  it('line 1 after a BOM is imported, not refused as "not valid JSON"', async () => {
    const dir = tmp();
    const file = path.join(dir, 'users.jsonl');
    const line = JSON.stringify({ email: 'bom@example.com', password_hash: '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234' });
    writeFileSync(file, `\uFEFF${line}\r\n`);
    const result = await cli(dir, ['users', 'import', file]);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out).toEqual(['imported 1 of 1 users']);
  }, 60_000);
});
