/**
 * Field names whose values are secrets wherever they appear (case-insensitive, compared after
 * removing '-', '_' and spaces). Shared by the request logger, the audit log and error reporting.
 */
const SENSITIVE_KEY_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'passcode',
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
  'accesskey',
  'signature',
  'encryptionkey',
  'keyring',
  'fernetkey',
  // Key material by its use. A bare `key` part would catch `keyId`, `idempotency_key` and
  // `cache_key` too; `secret_key` and `private_key` are covered by `secret` and `privatekey`.
  'hmackey',
  'signingkey',
  'masterkey',
];

/** Short names that are sensitive only as the whole key (a substring match would be too broad). */
const SENSITIVE_EXACT_KEYS = new Set(['pass', 'pw', 'pin', 'otp', 'totp', 'pwd', 'auth', 'jwt', 'cvv', 'cvc', 'ssn']);

/** Lower-cases a key and removes '-', '_' and whitespace, so `X-Api-Key` and `apiKey` compare equal. */
export function normaliseKey(key: string): string {
  // NFKC first: full-width or other compatibility forms (`ＰＡＳＳＷＯＲＤ`) must not slip past.
  return key
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[-_\s]/g, '');
}

// Log objects repeat the same few dozen keys on every line; remembering the verdict saves a
// lower-case, a regex replace and 16 substring searches per key. Bounded: cleared when full.
const verdicts = new Map<string, boolean>();
const MAX_REMEMBERED_KEYS = 4096;

/** True when a field of this name must never be logged or stored in clear. */
export function isSensitiveKey(key: string): boolean {
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  const normalised = normaliseKey(key);
  const verdict =
    SENSITIVE_EXACT_KEYS.has(normalised) || SENSITIVE_KEY_PARTS.some((part) => normalised.includes(part));
  if (key.length <= 128) {
    if (verdicts.size >= MAX_REMEMBERED_KEYS) verdicts.clear();
    verdicts.set(key, verdict);
  }
  return verdict;
}

export const REDACTED = '[REDACTED]';
