import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** The filesystem magic of procfs (statfs f_type, PROC_SUPER_MAGIC). */
const PROC_SUPER_MAGIC = 0x9fa0;

/** Whether /proc is procfs here (Linux), where mkdir answers ENOENT although /proc exists. */
export function procIsProcfs(): boolean {
  try {
    return statfsSync('/proc').type === PROC_SUPER_MAGIC;
  } catch {
    return false;
  }
}

export interface ChildResult {
  /** True when the child did not finish within the time limit (it was killed). */
  readonly timedOut: boolean;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `script` (an ES module) in a separate Node process that has the given files of src/
 * (paths relative to src/, e.g. 'storage/private-dirs.ts'), transpiled from their source as they
 * are now, at the same relative paths: `import … from './storage/private-dirs.js'` works in it.
 * The files may import only each other and node: modules. For code that might hang in a
 * synchronous call, which would also stop the test's own timeout: the child is killed after
 * `timeoutMs` and the result says so.
 */
export async function runWithSources(
  files: readonly string[],
  script: string,
  timeoutMs: number,
): Promise<ChildResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-child-'));
  try {
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
    for (const file of files) {
      const output = ts.transpileModule(readFileSync(path.join(SRC, file), 'utf8'), {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
        fileName: file,
      });
      const target = path.join(dir, file.replace(/\.ts$/, '.js'));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, output.outputText);
    }
    writeFileSync(path.join(dir, 'main.js'), script);
    return await new Promise<ChildResult>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(dir, 'main.js')], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ timedOut, code, stdout, stderr });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
