import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli, readerUser } from './in-process-cli.js';

// `users import` and `keys import` never echo a refused line (it holds a hash or a key), so the
// line number they give must be the file's own: blank lines and `#` comments count.

const tmp = scratchDirs('warden-cli-lines-');
afterEach(() => vi.unstubAllEnvs());

describe('import problems name the line of the file', () => {
  it('users import: a bad record on line 3 after a blank line is reported as line 3', async () => {
    const dir = tmp();
    const file = path.join(dir, 'users.jsonl');
    const good = JSON.stringify({
      email: 'ok@example.com',
      password_hash: '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
    });
    writeFileSync(file, ['', good, JSON.stringify({ email: 'bad@example.com' })].join('\n'));
    const result = await cli(dir, ['users', 'import', file]);
    expect(result.code).toBe(65);
    expect(result.err.join('\n')).toMatch(/line 3: /);
  }, 60_000);

  it('keys import: a refused entry on line 4 (after a comment and a blank line) is reported as line 4', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'lines@example.com');
    const file = path.join(dir, 'keys.jsonl');
    writeFileSync(
      file,
      [
        '# exported from the old store',
        JSON.stringify({ key: 'legacyDDDD-0123456789abcdef0123456789ab', name: 'one', owner_id: owner }),
        '',
        JSON.stringify({
          key: 'legacyEEEE-0123456789abcdef0123456789ab',
          name: 'two',
          owner_id: owner,
          permissions: ['admin:write'],
        }),
      ].join('\n'),
    );
    const result = await cli(dir, ['keys', 'import', '--file', file]);
    expect(result.code).toBe(65);
    expect(result.err.join('\n')).toMatch(/line 4\b/);
  }, 60_000);
});
