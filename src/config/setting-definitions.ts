import { parseAesKeyring } from '../crypto/aes-gcm-keyring.js';
import { MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_PARALLELISM } from '../crypto/password-hashing.js';
import * as parse from './parsers.js';
import { parsePepperSetting as parseApiKeyPepper } from '../apikeys/pepper-keyring.js';
import { RATE_LIMIT_ALGORITHMS, type RateLimitAlgorithm } from '../ratelimit/policy.js';
import { policyListSetting } from '../ratelimit/policy-setting.js';
import type { Parser } from './parsers.js';
import { parsePatternTypeList } from '../redact/pattern-type-setting.js';

export const PROFILES = ['development', 'staging', 'production'] as const;
/** The deployment profile; decides defaults and how strict the start-up checks are. */
export type Profile = (typeof PROFILES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface DefinitionBase<T> {
  /** The environment variable (also read from `${name}_FILE`). */
  readonly name: string;
  readonly parse: Parser<T>;
  /** Secrets are masked in `warden config check` and never logged. */
  readonly secret?: boolean;
  /** One line for docs/configuration.md and `warden config check`. */
  readonly doc: string;
}

export interface RequiredDefinition<T> extends DefinitionBase<T> {
  readonly fallback: (profile: Profile) => T;
}

export interface OptionalDefinition<T> extends DefinitionBase<T> {
  readonly fallback?: undefined;
}

export type SettingDefinition<T> = RequiredDefinition<T> | OptionalDefinition<T>;

const required = <T>(d: RequiredDefinition<T>): RequiredDefinition<T> => d;
const optional = <T>(d: OptionalDefinition<T>): OptionalDefinition<T> => d;

/**
 * Every setting Warden reads, in one table: the variable's name, how it is parsed, its
 * default per profile and whether it is secret. `Settings` is derived from this table.
 */
export const SETTING_DEFINITIONS = {
  env: required({
    name: 'WARDEN_ENV',
    parse: parse.oneOf(PROFILES),
    fallback: () => 'development' as Profile,
    doc: 'Profile: development, staging or production.',
  }),
  host: required({ name: 'WARDEN_HOST', parse: parse.text, fallback: () => '127.0.0.1', doc: 'Address to listen on.' }),
  port: required({ name: 'WARDEN_PORT', parse: parse.integer(0, 65535), fallback: () => 8080, doc: 'TCP port (0 = any free port).' }),
  dataDir: required({
    name: 'WARDEN_DATA_DIR',
    parse: parse.text,
    fallback: () => './data',
    doc: 'Directory for generated development secrets (created 0700). The default WARDEN_DATABASE_URL (sqlite:./data/warden.db) does not follow it: set both to move the SQLite file.',
  }),
  databaseUrl: required({
    name: 'WARDEN_DATABASE_URL',
    parse: parse.databaseUrl,
    fallback: () => 'sqlite:./data/warden.db',
    doc: 'sqlite:<path> or postgres://user:pass@host:port/db?sslmode=verify-full&sslrootcert=/path/ca.pem',
  }),
  dbPoolSize: required({ name: 'WARDEN_DB_POOL_SIZE', parse: parse.integer(1, 200), fallback: () => 10, doc: 'PostgreSQL pool size.' }),
  dbStatementTimeoutMs: required({
    name: 'WARDEN_DB_STATEMENT_TIMEOUT_MS',
    parse: parse.integer(0, 600_000),
    fallback: () => 10_000,
    doc: 'PostgreSQL statement_timeout in ms (0 = none; the client gives up 5 s later if the server goes silent; migrations run without it); SQLite busy timeout uses the same value (0 = as long as SQLite allows).',
  }),
  redisUrl: optional({
    name: 'WARDEN_REDIS_URL',
    parse: parse.url(['redis', 'rediss']),
    doc: 'Redis for shared rate limits, revocation and caches; unset = in-memory (one instance only).',
  }),
  redisKeyPrefix: required({ name: 'WARDEN_REDIS_KEY_PREFIX', parse: parse.text, fallback: () => 'warden:', doc: 'Prefix of every Redis key.' }),
  secretKey: optional({
    name: 'WARDEN_SECRET_KEY',
    parse: parse.text,
    secret: true,
    doc: 'Root secret: at least 32 bytes of entropy, e.g. `openssl rand -base64 48` (production refuses examples, words and encoded text; see What production refuses). Development generates one into the data directory.',
  }),
  encryptionKey: optional({
    name: 'WARDEN_ENCRYPTION_KEY',
    parse: (raw: string): string => {
      // Validated here so a bad keyring fails at start-up, naming the entry but not the key.
      try {
        parseAesKeyring(raw);
      } catch (error) {
        throw new parse.ParseProblem((error as Error).message);
      }
      return raw.trim();
    },
    secret: true,
    doc: 'Field-encryption keyring "id:base64url-32-bytes[,id:key…]", active key first (docs/encryption.md); unset = columns stored in clear.',
  }),
  secretsProvider: required({
    name: 'WARDEN_SECRETS_PROVIDER',
    parse: parse.oneOf(['auto', 'env', 'file', 'vault', 'aws', 'chain'] as const),
    fallback: () => 'env' as const,
    doc: 'Where secrets come from: env, file, vault, aws, chain or auto.',
  }),
  vaultAddr: optional({ name: 'WARDEN_VAULT_ADDR', parse: parse.url(['http', 'https']), doc: 'HashiCorp Vault address (enables the vault provider under auto).' }),
  vaultToken: optional({ name: 'WARDEN_VAULT_TOKEN', parse: parse.text, secret: true, doc: 'Vault token (or use AppRole).' }),
  vaultRoleId: optional({ name: 'WARDEN_VAULT_ROLE_ID', parse: parse.text, doc: 'Vault AppRole role_id.' }),
  vaultSecretId: optional({ name: 'WARDEN_VAULT_SECRET_ID', parse: parse.text, secret: true, doc: 'Vault AppRole secret_id.' }),
  vaultNamespace: optional({ name: 'WARDEN_VAULT_NAMESPACE', parse: parse.text, doc: 'Vault Enterprise namespace (X-Vault-Namespace).' }),
  vaultMount: required({ name: 'WARDEN_VAULT_MOUNT', parse: parse.text, fallback: () => 'secret', doc: 'Vault KV v2 mount.' }),
  vaultPath: required({ name: 'WARDEN_VAULT_PATH', parse: parse.text, fallback: () => 'warden', doc: 'Path under the KV mount where Warden secrets live (one secret per name).' }),
  vaultCaFile: optional({ name: 'WARDEN_VAULT_CA_FILE', parse: parse.text, doc: 'PEM CA bundle to trust for Vault TLS.' }),
  awsRegion: optional({ name: 'WARDEN_AWS_REGION', parse: parse.text, doc: 'AWS Secrets Manager region (enables the aws provider under auto); credentials from the standard chain.' }),
  awsSecretPrefix: required({ name: 'WARDEN_AWS_SECRET_PREFIX', parse: parse.text, fallback: () => 'warden/', doc: 'Prefix of Warden secret names in AWS Secrets Manager.' }),
  awsEndpoint: optional({ name: 'WARDEN_AWS_ENDPOINT', parse: parse.url(['http', 'https']), doc: 'AWS endpoint override (e.g. a local emulator); unset = the real service.' }),
  secretsCacheTtlMs: required({ name: 'WARDEN_SECRETS_CACHE_TTL_MS', parse: parse.integer(0, 86_400_000), fallback: () => 60_000, doc: 'How long fetched secrets are cached (0 = no cache).' }),
  secretsDir: optional({
    name: 'WARDEN_SECRETS_DIR',
    parse: parse.text,
    doc: 'Directory of secret files (e.g. /run/secrets): a file named like the variable provides its value.',
  }),
  corsOrigins: required({
    name: 'WARDEN_CORS_ORIGINS',
    parse: parse.origins,
    fallback: (): readonly string[] => [],
    doc: 'Comma-separated exact origins allowed by CORS; empty = no cross-origin access; * only outside production.',
  }),
  trustedHosts: required({
    name: 'WARDEN_TRUSTED_HOSTS',
    parse: parse.hostList,
    fallback: (): readonly string[] => [],
    doc: 'Allowed Host header values (host or host:port, *.example.com); empty = any.',
  }),
  trustProxy: required({
    name: 'WARDEN_TRUST_PROXY',
    parse: parse.trustProxy,
    fallback: (): boolean | number | readonly string[] => false,
    doc: 'Whose X-Forwarded-* headers count: false, true, a hop count, or proxy IPs/CIDRs (production: at most 5 hops; public ranges /12 or narrower for IPv4, /28 for IPv6).',
  }),
  httpsRedirect: required({
    name: 'WARDEN_HTTPS_REDIRECT',
    parse: parse.boolean,
    fallback: () => false,
    doc: 'Redirect plain-HTTP requests to https:// (308).',
  }),
  hstsMaxAge: required({
    name: 'WARDEN_HSTS_MAX_AGE',
    parse: parse.integer(0, 63_072_000),
    fallback: () => 31_536_000,
    doc: 'HSTS max-age in seconds, sent only over HTTPS (or a trusted proxy saying https).',
  }),
  contentSecurityPolicy: required({
    name: 'WARDEN_CSP',
    parse: parse.text,
    fallback: () => "default-src 'self'; frame-ancestors 'none'",
    doc: 'Content-Security-Policy header value.',
  }),
  bodyLimit: required({
    name: 'WARDEN_BODY_LIMIT',
    parse: parse.integer(1024, 50 * 1024 * 1024),
    fallback: () => 100 * 1024,
    doc: 'Maximum request body in bytes.',
  }),
  requestTimeoutMs: required({
    name: 'WARDEN_REQUEST_TIMEOUT_MS',
    parse: parse.integer(1000, 600_000),
    // Fastify's default (0) also switches off Node's own 300 s bound: a client announcing a body
    // and sending a byte now and then would hold its socket for ever, even after a 429.
    fallback: () => 30_000,
    doc: 'How long a request, headers and body, may take to arrive; a slower one is answered 408 and its connection closed.',
  }),
  logLevel: required({
    name: 'WARDEN_LOG_LEVEL',
    parse: parse.oneOf(LOG_LEVELS),
    fallback: () => 'info' as LogLevel,
    doc: 'fatal, error, warn, info, debug, trace or silent (debug/trace refused in production).',
  }),
  requireSharedDb: required({
    name: 'WARDEN_REQUIRE_SHARED_DB',
    parse: parse.boolean,
    fallback: () => false,
    doc: 'For multi-instance deployments: with a sqlite: WARDEN_DATABASE_URL, production refuses to start, staging starts with a warning, development ignores it.',
  }),
  metricsToken: optional({
    name: 'WARDEN_METRICS_TOKEN',
    parse: parse.text,
    secret: true,
    doc: 'Bearer token that may read GET /metrics (besides the metrics:read permission): at least 16 bytes of entropy, e.g. `openssl rand -hex 32`.',
  }),
  shutdownTimeoutMs: required({
    name: 'WARDEN_SHUTDOWN_TIMEOUT_MS',
    parse: parse.integer(0, 600_000),
    // Below Docker's 10 s stop grace period: the flush of buffered audit and usage rows comes after this wait.
    fallback: () => 8_000,
    doc: 'How long graceful shutdown waits for in-flight requests before closing them; the flush of buffered rows follows, so keep it below the orchestrator\'s grace period (Docker: 10 s).',
  }),
  shutdownFlushTimeoutMs: required({
    name: 'WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS',
    parse: parse.integer(1, 600_000),
    // A database gone silent holds each flush until the client's query timeout (~15 s), one hook
    // after another: without one bound the process outlives the orchestrator's grace period.
    fallback: () => 5_000,
    doc: 'How long shutdown may spend, in all, flushing buffered audit and usage rows and closing Redis and the database, after the in-flight requests; what is not flushed by then is logged and the exit code is 1.',
  }),
  // Identity (issue #6): tokens, passwords, login throttling.
  jwtAlgorithm: required({
    name: 'WARDEN_JWT_ALGORITHM',
    parse: (raw) => {
      // parse.oneOf lower-cases; algorithm names are mixed case, so match case-insensitively here.
      const found = (['EdDSA', 'ES256', 'RS256', 'HS256'] as const).find((a) => a.toLowerCase() === raw.trim().toLowerCase());
      if (found === undefined) throw new parse.ParseProblem(`must be one of EdDSA, ES256, RS256, HS256, got "${raw.trim()}"`);
      return found;
    },
    fallback: (): 'EdDSA' | 'ES256' | 'RS256' | 'HS256' => 'EdDSA',
    doc: 'Access-token signature algorithm: EdDSA (Ed25519), ES256, RS256 or HS256 (HS256 publishes no JWKS).',
  }),
  jwtIssuer: required({ name: 'WARDEN_JWT_ISSUER', parse: parse.text, fallback: () => 'warden', doc: 'The iss claim of access tokens (checked on verify).' }),
  jwtAudience: required({ name: 'WARDEN_JWT_AUDIENCE', parse: parse.text, fallback: () => 'warden', doc: 'The aud claim of access tokens (checked on verify).' }),
  accessTokenTtlSeconds: required({
    name: 'WARDEN_ACCESS_TOKEN_TTL',
    parse: parse.integer(30, 86_400),
    fallback: () => 900,
    doc: 'Access-token lifetime in seconds (default 15 minutes).',
  }),
  refreshTokenTtlSeconds: required({
    name: 'WARDEN_REFRESH_TOKEN_TTL',
    parse: parse.integer(60, 90 * 86_400),
    fallback: () => 7 * 86_400,
    doc: 'Refresh-token (session) lifetime in seconds (default 7 days; refreshing never extends it).',
  }),
  refreshReuseLeewayMs: required({
    name: 'WARDEN_REFRESH_REUSE_LEEWAY_MS',
    parse: parse.integer(0, 60_000),
    fallback: () => 0,
    doc: 'A refresh token presented again this soon after its first use is refused without revoking its family (0 = any reuse revokes).',
  }),
  clockSkewSeconds: required({ name: 'WARDEN_CLOCK_SKEW', parse: parse.integer(0, 300), fallback: () => 30, doc: 'Tolerated clock difference (seconds) for exp/nbf/iat.' }),
  jwtMaxBytes: required({ name: 'WARDEN_JWT_MAX_BYTES', parse: parse.integer(512, 65_536), fallback: () => 8192, doc: 'Access tokens longer than this are rejected before parsing.' }),
  // Bounded by what a stored hash may carry (password-hashing.ts): a higher cost would make hashes that never verify.
  argon2MemoryKib: required({
    name: 'WARDEN_ARGON2_MEMORY_KIB',
    parse: parse.integer(19_456, MAX_ARGON2_MEMORY_KIB),
    fallback: () => 19_456,
    doc: 'argon2id memory cost in KiB (OWASP floor 19456; at most 1 GiB).',
  }),
  argon2Iterations: required({ name: 'WARDEN_ARGON2_ITERATIONS', parse: parse.integer(2, MAX_ARGON2_ITERATIONS), fallback: () => 2, doc: 'argon2id time cost (OWASP floor 2; at most 16).' }),
  argon2Parallelism: required({ name: 'WARDEN_ARGON2_PARALLELISM', parse: parse.integer(1, MAX_ARGON2_PARALLELISM), fallback: () => 1, doc: 'argon2id lanes.' }),
  defaultRoles: required({
    name: 'WARDEN_DEFAULT_ROLES',
    parse: parse.list,
    fallback: (): readonly string[] => [],
    doc: 'Roles every new user receives (global scope), e.g. reader; empty = none (least privilege).',
  }),
  authzCacheTtlMs: optional({
    name: 'WARDEN_AUTHZ_CACHE_TTL_MS',
    parse: parse.integer(0, 3_600_000),
    doc: 'Longest life of cached roles and effective permissions: how long a revoked permission can keep working when the change is not heard (made by another process without a shared bus, or a lost message); 0 = no cache. Default: 30000 with WARDEN_REDIS_URL (changes arrive by pub/sub), 1000 without.',
  }),
  passwordMinLength: required({ name: 'WARDEN_PASSWORD_MIN_LENGTH', parse: parse.integer(8, 256), fallback: () => 12, doc: 'Minimum password length in characters.' }),
  passwordHashConcurrency: optional({
    name: 'WARDEN_PASSWORD_HASH_CONCURRENCY',
    parse: parse.integer(1, 64),
    doc: 'Password hashes/verifies running at once (the rest queue). Default: the CPU cores the process may use, at most UV_THREADPOOL_SIZE − 1 (so token checks are not starved): argon2id is memory-hard, and two hashes sharing one core take longer in total than one after the other (33 vs 40 logins/s measured on one core).',
  }),
  passwordHashQueueTimeoutMs: required({
    name: 'WARDEN_PASSWORD_HASH_QUEUE_TIMEOUT_MS',
    parse: parse.integer(1, 60_000),
    fallback: () => 5000,
    doc: 'How long a login waits for a hashing slot before 503 overloaded.',
  }),
  loginMaxFailuresPerAccount: required({ name: 'WARDEN_LOGIN_MAX_FAILURES', parse: parse.integer(1, 1000), fallback: () => 5, doc: 'Failed logins per account before a temporary lockout.' }),
  loginMaxFailuresPerIp: required({ name: 'WARDEN_LOGIN_MAX_FAILURES_PER_IP', parse: parse.integer(1, 100_000), fallback: () => 50, doc: 'Failed logins per client address in 15 min before that address is locked out for WARDEN_LOGIN_LOCKOUT_MS (IPv6 counts per /64, as the HTTP rate limits do; 1 locks at the first failure). Failed OAuth client authentications count here too.' }),
  loginLockoutMs: required({ name: 'WARDEN_LOGIN_LOCKOUT_MS', parse: parse.integer(1000, 86_400_000), fallback: () => 15 * 60_000, doc: 'The account and IP lockout once WARDEN_LOGIN_MAX_FAILURES (per account) or WARDEN_LOGIN_MAX_FAILURES_PER_IP is reached in 15 min; 3× the account limit in 24 h locks for 8× this (at most 24 h). 3 quick failures always pause the account for 30 s.' }),
  rateLimitDefault: required({
    name: 'WARDEN_RATELIMIT_DEFAULT',
    parse: policyListSetting,
    fallback: () => '300/60s',
    doc: 'Limit per client IP on every /v1 route (and, each on a budget of its own, on /metrics, /oauth/introspect, /oauth/revoke and failed authentications of /v1/ratelimit), e.g. `100/60s` or `10/1m, 1000/1h block 5m`; `off` disables it.',
  }),
  rateLimitAuth: required({
    name: 'WARDEN_RATELIMIT_AUTH',
    parse: policyListSetting,
    fallback: () => '20/60s',
    doc: 'Stricter limit per client IP on /v1/auth/login, /v1/auth/refresh and /oauth/token (instead of the default).',
  }),
  rateLimitAlgorithm: required({
    name: 'WARDEN_RATELIMIT_ALGORITHM',
    parse: parse.oneOf(RATE_LIMIT_ALGORITHMS),
    fallback: () => 'sliding-window' as RateLimitAlgorithm,
    doc: 'Algorithm of the HTTP limits: fixed-window, sliding-window, sliding-log (limits <= 1000) or token-bucket.',
  }),
  rateLimitFailurePolicy: required({
    name: 'WARDEN_RATELIMIT_FAILURE_POLICY',
    parse: parse.oneOf(['fail-open', 'fail-closed'] as const),
    fallback: (profile) => (profile === 'production' ? 'fail-closed' : 'fail-open') as 'fail-open' | 'fail-closed',
    doc: 'When Redis fails: fail-open (decide with a per-instance in-memory limiter) or fail-closed (503). Production default: fail-closed.',
  }),
  rateLimitAllowMemoryFallback: required({
    name: 'WARDEN_RATELIMIT_ALLOW_MEMORY_FALLBACK',
    parse: parse.boolean,
    fallback: (profile) => profile !== 'production',
    doc: 'Production refuses fail-open (per-instance limits during a Redis outage) unless this is true.',
  }),
  rateLimitRedisTimeoutMs: required({
    name: 'WARDEN_RATELIMIT_REDIS_TIMEOUT_MS',
    parse: parse.integer(10, 10_000),
    fallback: () => 250,
    doc: 'How long one rate-limit decision waits for Redis before the failure policy applies.',
  }),
  rateLimitMemoryMaxKeys: required({
    name: 'WARDEN_RATELIMIT_MEMORY_MAX_KEYS',
    parse: parse.integer(100, 100_000_000),
    fallback: () => 100_000,
    doc: 'Keys the in-memory limiter tracks at most in each of its three partitions: /v1/ratelimit counters, HTTP limits, and Warden\'s own lockouts and API-key limits (least recently used are forgotten first; a sliding log weighs 1 + 1 per 16 timestamps).',
  }),
  apiKeyPepper: optional({
    name: 'WARDEN_API_KEY_PEPPER',
    parse: (raw: string): string => {
      // Validated at start-up; the message names the entry, never the pepper.
      try {
        parseApiKeyPepper(raw);
      } catch (error) {
        throw new parse.ParseProblem((error as Error).message);
      }
      return raw.trim();
    },
    secret: true,
    doc: 'Extra API-key peppers "2:<base64url 32+ bytes>[,3:…]", active first; a bare 1 names the v1 derived from WARDEN_SECRET_KEY (docs/api-keys.md); unset = v1 only.',
  }),
  apiKeyRotationGraceMs: required({
    name: 'WARDEN_API_KEY_ROTATION_GRACE_MS',
    parse: parse.integer(0, 365 * 86_400_000),
    fallback: () => 86_400_000,
    doc: 'How long a rotated API key keeps working after rotation (0 = stops at once).',
  }),
  apiKeyCacheTtlMs: required({
    name: 'WARDEN_API_KEY_CACHE_TTL_MS',
    parse: parse.integer(0, 60_000),
    fallback: () => 1000,
    doc: 'Longest time an instance may serve a cached API-key verification (bounds revocation staleness even without Redis).',
  }),
  apiKeyLegacySalt: optional({
    name: 'WARDEN_API_KEY_LEGACY_SALT',
    parse: parse.text,
    secret: true,
    doc: 'Fixed salt of imported legacy SHA-256 key hashes (warden keys import); unset = no legacy hashes accepted.',
  }),
  redactAllowKeys: required({
    name: 'WARDEN_REDACT_ALLOW_KEYS',
    parse: parse.list,
    fallback: () => ['token_type'],
    doc: 'Comma-separated key names the log redaction never masks by name (docs/redaction.md).',
  }),
  redactDenyKeys: required({
    name: 'WARDEN_REDACT_DENY_KEYS',
    parse: parse.list,
    fallback: () => [],
    doc: 'Comma-separated extra key names the log redaction always masks.',
  }),
  redactDisabledPatterns: required({
    name: 'WARDEN_REDACT_DISABLED_PATTERNS',
    parse: parsePatternTypeList,
    fallback: () => [],
    doc: 'Comma-separated value patterns not redacted in logs and triage payloads, e.g. ipv4,ipv6 (weakens privacy).',
  }),
  breakerCacheUrl: optional({
    name: 'WARDEN_BREAKER_CACHE_URL',
    parse: parse.url(['redis', 'rediss']),
    doc: 'Redis for the circuit breakers\' fallback cache, shared by all instances; unset = in-memory per instance.',
  }),
  breakerCacheMaxAgeMs: required({
    name: 'WARDEN_BREAKER_CACHE_MAX_AGE_MS',
    parse: parse.integer(1000, 7 * 86_400_000),
    fallback: () => 3_600_000,
    doc: 'Oldest cached result a circuit breaker may serve (marked degraded) while its upstream is down.',
  }),
  breakerFailureThreshold: required({
    name: 'WARDEN_BREAKER_FAILURE_THRESHOLD',
    parse: parse.integer(1, 1000),
    fallback: () => 5,
    doc: 'Consecutive failed calls (errors or timeouts) that open a circuit.',
  }),
  breakerHalfOpenAfterMs: required({
    name: 'WARDEN_BREAKER_HALF_OPEN_AFTER_MS',
    parse: parse.integer(100, 3_600_000),
    fallback: () => 30_000,
    doc: 'Time an open circuit waits before letting one probe call through.',
  }),
  llmUrl: optional({
    name: 'WARDEN_LLM_URL',
    parse: parse.url(['http', 'https']),
    doc: 'Base URL of an OpenAI-compatible chat API for log triage (<url>/chat/completions is called); unset = no provider.',
  }),
  llmModel: optional({ name: 'WARDEN_LLM_MODEL', parse: parse.text, doc: 'Model name sent to the log-triage chat API (required with WARDEN_LLM_URL).' }),
  llmApiKey: optional({
    name: 'WARDEN_LLM_API_KEY',
    parse: parse.text,
    secret: true,
    doc: 'Bearer key of the log-triage chat API (also fetched from the secrets provider).',
  }),
  llmTimeoutMs: required({
    name: 'WARDEN_LLM_TIMEOUT_MS',
    parse: parse.integer(100, 300_000),
    fallback: () => 30_000,
    doc: 'Timeout of one log-triage call to the chat API (a timeout counts as a breaker failure).',
  }),
} as const;

type Definitions = typeof SETTING_DEFINITIONS;
type ValueOf<D> =
  D extends RequiredDefinition<infer T> ? T : D extends OptionalDefinition<infer T> ? T | undefined : never;

/** The typed, frozen settings object that the whole service is built from. */
export type Settings = { readonly [K in keyof Definitions]: ValueOf<Definitions[K]> };
export type SettingKey = keyof Definitions;
