import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm run bench` once ran `node bench/run.mjs`, a file that never existed: each script that
// runs a file of this repository must name one that exists.

const ROOT = join(import.meta.dirname, '..');

describe('package.json scripts run files that exist', () => {
  it('every `node <file>` of a script names a file of the repository', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const files = Object.entries(scripts).flatMap(([name, command]) => [...command.matchAll(/\bnode\s+(?!-)([\w./-]+)/g)].map((m) => ({ name, file: m[1] as string })));
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['bench', 'start']));
    expect(files.filter(({ file }) => !existsSync(join(ROOT, file)))).toEqual([]);
  });
});
