import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli } from './in-process-cli.js';

// `warden users create` reads a piped password as strict UTF-8: a lenient decode would turn
// each invalid byte into U+FFFD, storing something other than what the operator holds (a
// password from a Latin-1 file, or raw random bytes whose randomness collapses to U+FFFD).
// Input the command does not accept is exit 65 (docs/operations.md).

const tmp = scratchDirs('warden-utf8-');
afterEach(() => vi.unstubAllEnvs());

describe('warden users create with a password that is not UTF-8', () => {
  it('refuses it (exit 65) instead of storing a different, lossy password', async () => {
    if (process.stdin.isTTY) return; // the command prompts on a terminal; this is about piped stdin
    const dir = tmp();
    const latin1 = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('-Passw0rd!!\n')]);
    const result = await cli(dir, ['users', 'create', '--email', 'latin1@example.com'], latin1);
    expect(result.out.join('\n')).not.toMatch(/^created user/m);
    expect(result.code).toBe(65);
  }, 60_000);
});
