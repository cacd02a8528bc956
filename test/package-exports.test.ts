import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; exports: Record<string, unknown> };

describe('package exports (the public surface)', () => {
  it('every subpath resolves through Node’s own resolver and exports something', () => {
    const specifiers = Object.keys(pkg.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));
    // One Node process imports them all by package name (self-reference), as a user's code would.
    const script = `
      const specifiers = ${JSON.stringify(specifiers)};
      const out = {};
      for (const s of specifiers) out[s] = Object.keys(await import(s)).length;
      console.log(JSON.stringify(out));
    `;
    const counts = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as Record<string, number>;
    for (const specifier of specifiers) expect(counts[specifier], specifier).toBeGreaterThan(0);
  });

  it('every exported types file exists next to its module', () => {
    for (const [key, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      const { types, default: entry } = target as { types: string; default: string };
      expect(types.replace(/\.d\.ts$/, ''), key).toBe(entry.replace(/\.js$/, ''));
      expect(() => readFileSync(new URL(`../${types}`, import.meta.url)), key).not.toThrow();
    }
  });
});
