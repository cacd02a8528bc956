import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

/** What `npm pack` would put in the tarball (no scripts run, nothing written). */
let packed: string[] = [];
beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  packed = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}, 60_000);

/**
 * What an application installs: the tarball carries the license package.json names and the
 * sources its source maps point at, and the libraries whose types are part of warden's API are
 * asked for by range, so that npm keeps one copy with the application's own.
 */
describe('the published tarball (as an application installs it)', () => {
  it('ships a LICENSE file for the Apache-2.0 license package.json declares', () => {
    expect(pkg.license).toBe('Apache-2.0');
    // Apache-2.0 §4(a): recipients must be given a copy of the license.
    expect(packed.filter((p) => /^LICEN[CS]E(\.md|\.txt)?$/i.test(p))).not.toEqual([]);
  });

  it('ships no source map whose sources are missing from the tarball', () => {
    const missing: string[] = [];
    for (const map of packed.filter((p) => p.endsWith('.js.map'))) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
      if (sourcesContent !== undefined) continue; // inlined sources need no file
      for (const source of sources) {
        const target = join(map, '..', source);
        if (!packed.includes(target)) missing.push(`${map} -> ${target}`);
      }
    }
    expect(missing.slice(0, 3)).toEqual([]);
  });
});

describe('dependencies whose types are part of the public API', () => {
  // Packages the shipped declarations import types from and that an app passes in or receives
  // (a Fastify instance to register the plugins on, an ioredis client, a pino Logger, …).
  const publicTypeDeps = () => {
    const out = execFileSync('grep', ['-rhoE', "from '(fastify|ioredis|pino|kysely|prom-client)'", 'dist', '--include=*.d.ts'], { cwd: ROOT, encoding: 'utf8' });
    return [...new Set(out.split('\n').filter(Boolean).map((line) => line.slice(6, -1)))].sort();
  };

  it('are not pinned to one exact version, so an app on another compatible version shares one copy', () => {
    const deps = publicTypeDeps();
    expect(deps).toEqual(expect.arrayContaining(['fastify', 'ioredis']));
    // An exact pin ("5.12.8") would make npm nest a second copy under node_modules/warden whenever
    // the app has any other 5.x: `app.register(wardenTokenGuard, …)` on the app's Fastify and
    // `createRateLimitService({ redis })` with the app's ioredis client would no longer
    // type-check, and the guard's `requirePermission` / `tokenUser` augmentations would land on
    // the nested copy's types.
    const exact = deps.filter((name) => {
      const range = pkg.peerDependencies?.[name] ?? pkg.dependencies[name] ?? '';
      return /^\d+\.\d+\.\d+$/.test(range);
    });
    expect(exact).toEqual([]);
  });
});
