import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/**
 * What a fragment takes for granted: the names it uses without importing them, declared here so
 * that everything else in it (the calls, the option names, the imports) is checked against the
 * package's own types. Keyed by file and the fragment's number in it (from 0).
 */
const GIVEN: Record<string, string> = {
  'docs/api-keys.md#0': `import type { ApiKeyRecord, KeyRateLimitState, VerificationCode } from 'warden/apikeys';`,
  'docs/audit.md#1': `import type { AppContext } from 'warden';
import { actorId } from 'warden/authz';
import type { Principal } from 'warden/http';
declare const context: AppContext;
declare const principal: Principal;
declare const id: string, ip: string, user_agent: string, request_id: string;`,
  'docs/identity.md#0': `declare function listReports(userId: string): Promise<unknown>;`,
  'docs/ratelimit.md#0': `import type { AppContext } from 'warden';
declare const context: AppContext;
declare const key: string, cost: number;`,
  'docs/resilience.md#0': `import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCircuitBreaker, type FallbackCache } from 'warden/resilience';
declare const fallbackCache: FallbackCache;
declare const logger: Logger, metricsRegistry: Registry, cacheKey: string;
declare function fetchSomething(signal: AbortSignal): Promise<string>;`,
  'docs/secrets.md#0': `import { SecretManager, createEnvProvider, createFileProvider } from 'warden/secrets';
declare function reconnect(value: string): void;`,
};

/** Every TypeScript fragment of the README and docs/, in order of appearance per file. */
function fragments(): { name: string; code: string }[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  return files.flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((match, index) => ({
      name: `${file}#${index}`,
      code: match[1] as string,
    })),
  );
}

// Inside the package, so that `import … from 'warden/…'` resolves through package.json's
// exports (to the built declarations, as a user's code would) and `fastify` through node_modules.
const dir = mkdtempSync(join(ROOT, '.doc-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('code in the README and docs/ compiles against the published package', () => {
  const all = fragments();

  it('finds the fragments (the extraction itself works)', () => {
    expect(all.map((f) => f.name)).toEqual(expect.arrayContaining(['README.md#0', 'docs/identity.md#0', 'docs/oauth.md#0']));
  });

  it('type-checks every fragment with the project\'s strict settings', () => {
    const paths = all.map(({ name, code }, index) => {
      const path = join(dir, `example-${index}.mts`);
      // `export {}` makes each file a module (top-level await, no shared names between fragments).
      writeFileSync(path, `// ${name}\n${GIVEN[name] ?? ''}\n${code}\nexport {};\n`);
      return path;
    });
    const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
    const program = ts.createProgram(paths, { ...options, noEmit: true, declaration: false, sourceMap: false, noUnusedLocals: false });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const file = d.file === undefined ? '' : `${d.file.text.split('\n')[0]?.slice(3)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line} `;
      return `${file}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  });
});
