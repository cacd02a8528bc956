import * as parse from './parsers.js';
import type { Parser } from './parsers.js';

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
    doc: 'Directory for the SQLite file and generated development secrets (created 0700).',
  }),
  databaseUrl: required({
    name: 'WARDEN_DATABASE_URL',
    parse: parse.databaseUrl,
    fallback: () => 'sqlite:./data/warden.db',
    doc: 'sqlite:<path> or postgres://user:pass@host:port/db?sslmode=require',
  }),
  dbPoolSize: required({ name: 'WARDEN_DB_POOL_SIZE', parse: parse.integer(1, 200), fallback: () => 10, doc: 'PostgreSQL pool size.' }),
  dbStatementTimeoutMs: required({
    name: 'WARDEN_DB_STATEMENT_TIMEOUT_MS',
    parse: parse.integer(0, 600_000),
    fallback: () => 10_000,
    doc: 'PostgreSQL statement_timeout in ms (0 = none); SQLite busy timeout uses the same value.',
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
    doc: 'Root secret (>= 32 random bytes). Development generates one into the data directory.',
  }),
  encryptionKey: optional({
    name: 'WARDEN_ENCRYPTION_KEY',
    parse: parse.text,
    secret: true,
    doc: 'Keyring for field encryption at rest (see docs/encryption.md); unset = derived from the secret key.',
  }),
  secretsProvider: required({
    name: 'WARDEN_SECRETS_PROVIDER',
    parse: parse.oneOf(['auto', 'env', 'file', 'vault', 'aws', 'chain'] as const),
    fallback: () => 'env' as const,
    doc: 'Where secrets come from: env, file, vault, aws, chain or auto.',
  }),
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
    parse: parse.list,
    fallback: (): readonly string[] => [],
    doc: 'Allowed Host header values (host or host:port, *.example.com); empty = any.',
  }),
  trustProxy: required({
    name: 'WARDEN_TRUST_PROXY',
    parse: parse.trustProxy,
    fallback: (): boolean | number | readonly string[] => false,
    doc: 'Whose X-Forwarded-* headers count: false, true, a hop count, or proxy IPs/CIDRs.',
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
    doc: 'Refuse to start on SQLite (for multi-instance deployments).',
  }),
  metricsToken: optional({
    name: 'WARDEN_METRICS_TOKEN',
    parse: parse.text,
    secret: true,
    doc: 'Bearer token that may read GET /metrics (besides the metrics:read permission).',
  }),
  shutdownTimeoutMs: required({
    name: 'WARDEN_SHUTDOWN_TIMEOUT_MS',
    parse: parse.integer(0, 600_000),
    fallback: () => 10_000,
    doc: 'How long graceful shutdown waits for in-flight requests.',
  }),
} as const;

type Definitions = typeof SETTING_DEFINITIONS;
type ValueOf<D> =
  D extends RequiredDefinition<infer T> ? T : D extends OptionalDefinition<infer T> ? T | undefined : never;

/** The typed, frozen settings object that the whole service is built from. */
export type Settings = { readonly [K in keyof Definitions]: ValueOf<Definitions[K]> };
export type SettingKey = keyof Definitions;
