import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createFileProvider } from '../../src/secrets/file-provider.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

const scratch = scratchDirs('file-provider-links-');

// A Kubernetes secret volume holds every key as a symbolic link `NAME -> ..data/NAME`. `list`
// names the secrets that `get` reads: links to regular files included; links to directories,
// dangling links and dot-entries (`..data`) not.
it('lists secrets that are symbolic links to regular files, as get reads them', async () => {
  const dir = scratch();
  mkdirSync(path.join(dir, '..2026_12_07'));
  writeFileSync(path.join(dir, '..2026_12_07', 'DB_PASSWORD'), 'pw\n');
  symlinkSync('..2026_12_07', path.join(dir, '..data'));
  symlinkSync(path.join('..data', 'DB_PASSWORD'), path.join(dir, 'DB_PASSWORD'));
  symlinkSync('..2026_12_07', path.join(dir, 'A_DIRECTORY'));
  symlinkSync(path.join('..data', 'GONE'), path.join(dir, 'DANGLING'));
  writeFileSync(path.join(dir, 'PLAIN'), 'x');
  const provider = createFileProvider({ dir, env: {} });
  expect(await provider.get('DB_PASSWORD')).toBe('pw');
  expect(await provider.list!('')).toEqual(['DB_PASSWORD', 'PLAIN']);
  expect(await provider.list!('DB_')).toEqual(['DB_PASSWORD']);
});
