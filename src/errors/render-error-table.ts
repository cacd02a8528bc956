import { ERROR_CODES } from './error-codes.js';

/** The Markdown table of every error code, for docs/errors.md (kept in step by a test). */
export function renderErrorTable(): string {
  const rows = ['| code | HTTP status | title |', '|---|---|---|'];
  for (const [code, entry] of Object.entries(ERROR_CODES)) rows.push(`| \`${code}\` | ${entry.status} | ${entry.title} |`);
  return rows.join('\n');
}
