import { createRedactor, type Redactor } from './redactor.js';

export { createRedactor, redactionHint, type Redactor, type RedactorOptions } from './redactor.js';
export { isSensitiveKey, normaliseKey, REDACTED } from './sensitive-keys.js';
export { PATTERN_TYPES, type PatternType } from './value-patterns.js';
export { passesLuhn, isCardNumber } from './luhn.js';

/** The engine with default options; the logger, the audit log and outbound payloads use it. */
export const defaultRedactor: Redactor = createRedactor();

/** Deep copy of `value` with sensitive keys and sensitive substrings of strings replaced. */
export function redactValue(value: unknown): unknown {
  return defaultRedactor.redactValue(value);
}

/** `text` with secrets and PII replaced by `[REDACTED:<type>]` hints. */
export function redactText(text: string): string {
  return defaultRedactor.redactText(text);
}
export { createLineRedactor, type LineRedactor } from './line-redactor.js';
export { redactionOptionsFromSettings } from './redaction-from-settings.js';
export { addressKeepingRedactor, redactUserAgent } from './user-agent.js';
