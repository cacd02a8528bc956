import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
});
