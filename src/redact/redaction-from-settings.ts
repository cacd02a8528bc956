import type { Settings } from '../config/index.js';
import type { RedactorOptions } from './redactor.js';

/** The redaction options the operator configured (WARDEN_REDACT_*), for the logger and log triage. */
export function redactionOptionsFromSettings(
  settings: Pick<Settings, 'redactAllowKeys' | 'redactDenyKeys' | 'redactDisabledPatterns'>,
): RedactorOptions {
  return {
    allowKeys: settings.redactAllowKeys,
    denyKeys: settings.redactDenyKeys,
    disabledPatterns: settings.redactDisabledPatterns,
  };
}
