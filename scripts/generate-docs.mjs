// Rewrites the generated sections of docs/configuration.md and docs/errors.md from the code
// (the settings table and the error registry). Run after `npm run build`: `npm run docs`.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderSettingsTable } from '../dist/config/render-settings-table.js';
import { renderErrorTable } from '../dist/errors/render-error-table.js';

export function replaceGenerated(text, table) {
  return text.replace(/(<!-- generated:start -->\n)(?:[\s\S]*?\n)?(<!-- generated:end -->)/, `$1${table}\n$2`);
}

for (const [file, table] of [
  ['docs/configuration.md', renderSettingsTable()],
  ['docs/errors.md', renderErrorTable()],
]) {
  const before = readFileSync(file, 'utf8');
  const after = replaceGenerated(before, table);
  if (after !== before) {
    writeFileSync(file, after);
    console.log(`updated ${file}`);
  }
}
