import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { startServer } from '../../src/server/start-server.js';
import { isTickObjectShapePinned } from '../../src/server/tick-object-shape.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs a fresh Node process that uses process.nextTick and forces full garbage collections while
 * no tick object is alive, five times over, uses it again, and returns the states of V8's feedback for the
 * computed keys of Node's tick-object literal (read with %DebugPrint).
 */
function tickLiteralFeedbackAfterGc(pin: boolean): string[] {
  const script = `
    const { pinTickObjectShape } = await import('warden');
    if (${pin}) pinTickObjectShape();
    const noop = () => {};
    const burst = () => new Promise((resolve) => { for (let i = 0; i < 2000; i++) process.nextTick(noop); process.nextTick(resolve); });
    // Several rounds: V8 may keep an unused hidden class through a collection or two.
    for (let round = 0; round < 5; round++) {
      await burst();
      await new Promise((resolve) => setTimeout(resolve, 10));
      for (let i = 0; i < 3; i++) globalThis.gc();
    }
    await burst();
    eval('%DebugPrint(process.nextTick)');
  `;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  return [...out.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1] as string);
}

describe('pinTickObjectShape', () => {
  it('keeps V8 on the fast path for nextTick entries across full garbage collections', () => {
    const states = tickLiteralFeedbackAfterGc(true);
    // The literal has two computed keys and two plain ones after the first: at least 3 slots.
    expect(states.length).toBeGreaterThanOrEqual(3);
    expect(states.every((state) => state === 'MONOMORPHIC')).toBe(true);
  });

  it('works around real V8 behaviour: without it, one full GC sends nextTick to the slow path for good', () => {
    // If this starts failing, V8 changed: re-measure (bench/README.md) and consider removing the pin.
    expect(tickLiteralFeedbackAfterGc(false)).toContain('MEGAMORPHIC');
  });

  it('has been done once startServer has started the service', async () => {
    expect(isTickObjectShapePinned()).toBe(false);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-tick-'));
    const loaded = loadSettings({
      env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`, WARDEN_SECRET_KEY: TEST_SECRET_KEY },
      cwd: dir,
      envFile: false,
    });
    const silent = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const server = await startServer(loaded, { print: () => undefined, handleSignals: false, logStream: silent });
    await server.close();
    expect(isTickObjectShapePinned()).toBe(true);
  });
});
