import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from '../cli/in-process-cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// A hash whose cost parameters exceed what verification accepts (docs/encryption.md), or that is
// malformed (a cut bcrypt string, an argon2 one without salt and hash), could never verify: its user would be locked out with nothing saying why. The
// import refuses it, naming the line and the field, and imports the rest.

const tmp = scratchDirs('warden-import-unverifiable-');
afterEach(() => vi.unstubAllEnvs());

describe('users import of a hash that can never verify', () => {
  it('refuses it with the line and the reason, and imports the others', async () => {
    const dir = tmp();
    const file = path.join(dir, 'users.jsonl');
    const lines = [
      {
        email: 'ok@example.com',
        password_hash: '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
      },
      {
        email: 'long-digest@example.com',
        password_hash: `pbkdf2_sha256$5000000$salt$${randomBytes(6400).toString('base64')}`,
      },
      {
        email: 'bcrypt-31@example.com',
        password_hash: '$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
      },
      { email: 'short@example.com', password_hash: 'pbkdf2:sha256:1000$salt$00ff' },
      { email: 'bcrypt-cut@example.com', password_hash: '$2b$10$abcdefghijklmnopqrstuu' },
      { email: 'argon2-empty@example.com', password_hash: '$argon2id$v=19$m=19456,t=2,p=1$' },
    ];
    writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n'));
    const result = await cli(dir, ['users', 'import', file]);
    expect(result.code).toBe(65);
    const reason =
      'password_hash is malformed or its cost parameters exceed what Warden verifies (docs/encryption.md)';
    for (const line of [2, 3, 4, 5, 6]) expect(result.err.join('\n')).toContain(`line ${line}: ${reason}`);
    expect(result.out).toContain('imported 1 of 6 users');
    expect(result.err.join('\n')).not.toContain('CCCCCCCC');
  }, 60_000);
});
