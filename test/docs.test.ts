import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSettingsTable } from '../src/config/render-settings-table.js';
import { renderErrorTable } from '../src/errors/render-error-table.js';

function generatedSection(file: string): string {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const match = /<!-- generated:start -->\n([\s\S]*?)\n<!-- generated:end -->/.exec(text);
  if (match?.[1] === undefined) throw new Error(`${file} has no generated section`);
  return match[1];
}

describe('documentation stays in step with the code (run `npm run docs` to refresh)', () => {
  it('docs/configuration.md lists every setting with its default', () => {
    expect(generatedSection('docs/configuration.md')).toBe(renderSettingsTable());
  });

  it('docs/errors.md lists every error code with its status', () => {
    expect(generatedSection('docs/errors.md')).toBe(renderErrorTable());
  });
});
