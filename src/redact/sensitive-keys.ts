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

/**
 * Short names that are sensitive as the whole key or as its last word (`db_pass`, `MYSQL_PWD`,
 * `redisPass`, `basic_auth`); a substring match would catch `bypass`, `compass` or `auth_method`.
 */
const SENSITIVE_SHORT_WORDS = new Set(['pass', 'pw', 'pin', 'otp', 'totp', 'pwd', 'auth', 'jwt', 'cvv', 'cvc', 'ssn']);

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

/** The key's last word, split at '-', '_', '.', whitespace and lower-to-upper case steps. */
function lastWordOf(key: string): string {
  const words = key.normalize('NFKC').split(/[-_.\s]+|(?<=[\p{Ll}\d])(?=\p{Lu})/u);
  for (let i = words.length - 1; i >= 0; i -= 1) if (words[i] !== '') return (words[i] as string).toLowerCase();
  return '';
}

/** True when a field of this name must never be logged or stored in clear. */
export function isSensitiveKey(key: string): boolean {
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  const normalised = normaliseKey(key);
  const verdict =
    SENSITIVE_SHORT_WORDS.has(normalised) ||
    SENSITIVE_KEY_PARTS.some((part) => normalised.includes(part)) ||
    SENSITIVE_SHORT_WORDS.has(lastWordOf(key));
  if (key.length <= 128) {
    if (verdicts.size >= MAX_REMEMBERED_KEYS) verdicts.clear();
    verdicts.set(key, verdict);
  }
  return verdict;
}

export const REDACTED = '[REDACTED]';
