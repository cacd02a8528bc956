import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli } from './in-process-cli.js';

// `warden --version` prints Warden's own version (its package.json), also when run from another
// package's npm script, where npm_package_version is that package's.

const tmp = scratchDirs('warden-cli-version-');
afterEach(() => vi.unstubAllEnvs());

describe('warden --version', () => {
  it("prints Warden's version even under another package's npm script", async () => {
    const own = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    const result = await cli(tmp(), ['--version'], '', { npm_package_version: '7.3.1' });
    expect(result.code).toBe(0);
    expect(result.out).toEqual([own]);
  });
});
