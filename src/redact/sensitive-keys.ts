/**
 * Field names whose values are secrets wherever they appear (case-insensitive, compared after
 * removing '-' and '_'). Shared by the request logger, the audit log and error reporting.
 */
const SENSITIVE_KEY_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'setcookie',
  'privatekey',
  'clientsecret',
  'pepper',
  'credential',
  'sessionid',
  'otp',
  'pin',
];

/** True when a field of this name must never be logged or stored in clear. */
export function isSensitiveKey(key: string): boolean {
  const normalised = key.toLowerCase().replace(/[-_\s]/g, '');
  if (normalised === 'pin' || normalised === 'otp') return true;
  return SENSITIVE_KEY_PARTS.some((part) => part.length > 3 && normalised.includes(part));
}

export const REDACTED = '[REDACTED]';
