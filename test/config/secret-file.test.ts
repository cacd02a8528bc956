import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { MAX_SECRET_FILE_BYTES, readSecretFileSync } from '../../src/config/secret-file.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

const scratch = scratchDirs('warden-secret-file-');

describe('secret files (NAME_FILE and the secrets directory)', () => {
  it('reads a regular file without its trailing newline, up to the bound', () => {
    const file = path.join(scratch(), 'key');
    writeFileSync(file, 'value-1\n');
    expect(readSecretFileSync(file)).toBe('value-1');
    writeFileSync(file, 'x'.repeat(MAX_SECRET_FILE_BYTES));
    expect(readSecretFileSync(file)).toHaveLength(MAX_SECRET_FILE_BYTES);
  });

  it('refuses a file over 64 KiB, naming the variable and the path but no content', () => {
    const cwd = scratch();
    writeFileSync(path.join(cwd, 'big'), 'A'.repeat(MAX_SECRET_FILE_BYTES + 1));
    expect(() => loadSettings({ env: { WARDEN_SECRET_KEY_FILE: 'big' }, cwd, envFile: false })).toThrow(
      'WARDEN_SECRET_KEY_FILE points at "big", which is larger than 65536 bytes',
    );
  });

  it.runIf(existsSync('/dev/zero'))('refuses /dev/zero (and any other non-file) at once instead of reading it for ever', () => {
    expect(() => loadSettings({ env: { WARDEN_SECRET_KEY_FILE: '/dev/zero' }, cwd: scratch(), envFile: false })).toThrow(
      'WARDEN_SECRET_KEY_FILE points at "/dev/zero", which is not a regular file',
    );
    const dir = scratch();
    expect(() => loadSettings({ env: { WARDEN_SECRET_KEY_FILE: dir }, cwd: scratch(), envFile: false })).toThrow('which is not a regular file');
  });

  it('refuses a FIFO at once instead of waiting for a writer', () => {
    const fifo = path.join(scratch(), 'pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      console.warn('SKIPPED: mkfifo is not available');
      return;
    }
    expect(() => readSecretFileSync(fifo)).toThrow('is not a regular file');
  });
});
