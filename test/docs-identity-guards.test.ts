import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/identity.md's endpoint table says which credential each /v1/auth route takes. A route
// whose handler calls userClaims refuses API keys and client tokens (403 "This endpoint needs a
// user access token"), so "authenticated" would promise what it does not keep.

const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

/** Each route of auth-routes.ts: method, path, and whether it is public or needs a user's token. */
function routes(): { endpoint: string; guard: string }[] {
  const source = read('src/identity/routes/auth-routes.ts');
  const starts = [...source.matchAll(/app\.(get|post|put|patch|delete)(?:<[^(]*>)?\(\s*'([^']+)'/g)];
  return starts.map((match, i) => {
    const body = source.slice(match.index, starts[i + 1]?.index ?? source.length);
    const guard = /public: true/.test(body) ? 'public' : /userClaims\(/.test(body) ? 'user access token' : 'authenticated';
    return { endpoint: `${(match[1] as string).toUpperCase()} ${(match[2] as string).replace(/:(\w+)/g, '{$1}')}`, guard };
  });
}

describe('docs/identity.md names the credential each /v1/auth route takes', () => {
  it('finds the routes', () => {
    expect(routes().map((r) => r.endpoint)).toEqual(expect.arrayContaining(['GET /v1/auth/me', 'POST /v1/auth/login']));
  });

  it('says "user access token" where the handler refuses API keys, and "public" where no credential is needed', () => {
    const docs = read('docs/identity.md');
    const documented = routes().map(({ endpoint }) => {
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${endpoint}\` |`));
      return { endpoint, guard: row?.split('|')[2]?.trim() };
    });
    expect(documented).toEqual(routes());
  });
});
