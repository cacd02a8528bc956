import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { devSecret, existingDevSecret } from '../../src/config/dev-secrets.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

const devSecretsModule = fileURLToPath(new URL('../../dist/config/dev-secrets.js', import.meta.url));
const dataDir = scratchDirs('warden-dev-secrets-race-');

/** Runs devSecret in a separate process (from dist/, as `npm start` and the CLI do) at `startAt` and returns the value it got. */
function secretFromAnotherProcess(dir: string, startAt: number): Promise<string> {
  // Every process waits for the same instant (after its start-up), so that the calls overlap.
  const script = [
    `import { devSecret } from ${JSON.stringify(devSecretsModule)};`,
    `while (Date.now() < ${startAt});`,
    `process.stdout.write(devSecret(${JSON.stringify(dir)}, 'WARDEN_SECRET_KEY').value);`,
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`devSecret failed (${code}): ${err}`))));
  });
}

describe('development secrets', () => {
  it('processes starting at once on an empty data directory all get the one secret the file keeps', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = path.join(dataDir(), 'data');
      const startAt = Date.now() + 1500;
      const values = await Promise.all(Array.from({ length: 6 }, () => secretFromAnotherProcess(dir, startAt)));
      const kept = (JSON.parse(readFileSync(path.join(dir, 'dev-secrets.json'), 'utf8')) as { secrets: Record<string, string> }).secrets.WARDEN_SECRET_KEY;
      expect(kept).toMatch(/^[A-Za-z0-9_-]{64}$/);
      expect(new Set(values)).toEqual(new Set([kept]));
    }
  });

  it('tightens an existing file that group or others can read to 0600, and still uses its secret', () => {
    const dir = dataDir();
    const first = devSecret(dir, 'WARDEN_SECRET_KEY').value;
    const file = path.join(dir, 'dev-secrets.json');
    chmodSync(file, 0o644);
    expect(devSecret(dir, 'WARDEN_SECRET_KEY')).toEqual({ value: first, generated: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o640);
    expect(existingDevSecret(dir, 'WARDEN_SECRET_KEY')).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a dev-secrets.json that is a symbolic link or not a file, naming the path and never following it', () => {
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    const elsewhere = path.join(dataDir(), 'elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify({ note: '', secrets: { WARDEN_SECRET_KEY: 'planted-secret-value' } }), { mode: 0o644 });
    const file = path.join(dir, 'dev-secrets.json');
    symlinkSync(elsewhere, file);
    expect(() => devSecret(dir, 'WARDEN_SECRET_KEY')).toThrow(`${file} is a symbolic link; Warden keeps development secrets only in a regular file of its data directory`);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o644);
    const other = dataDir();
    mkdirSync(path.join(other, 'dev-secrets.json'), { recursive: true });
    expect(() => devSecret(other, 'WARDEN_SECRET_KEY')).toThrow('is not a regular file');
  });
});
