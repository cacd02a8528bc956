import { usesPlainHttp } from '../http/loopback-host.js';
import { postgresTlsWarning } from '../storage/postgres-tls.js';
import { assessSecretStrength, describeSecretWeaknesses, isKnownDefaultSecret, MIN_SECRET_BYTES } from './secret-strength.js';
import type { Settings } from './setting-definitions.js';
import { familiesTrustedEntirely, MAX_TRUSTED_HOPS, MIN_PUBLIC_PREFIX, widePublicEntries } from './trust-proxy-scope.js';

/**
 * A metrics token only guards read access to /metrics, and 16 random bytes (128 bits) is the
 * usual strength of a bearer token; the root secret derives every other key, hence 32.
 */
const MIN_METRICS_TOKEN_BYTES = 16;

/** The `<id>:<base64url>` entries of a keyring setting, whose format its parser has checked. */
function keyringEntries(raw: string): { id: string; key: string }[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => ({ id: entry.slice(0, entry.indexOf(':')), key: entry.slice(entry.indexOf(':') + 1) }));
}

/**
 * The problem with one secret setting, if any: a known default/example value, or less
 * entropy than `minBytes` by assessSecretStrength. The line names the variable, the reason and
 * the fix, never the value: it is printed and logged.
 */
function weakSecretProblem(name: string, value: string, minBytes: number, generate: string): string | undefined {
  if (isKnownDefaultSecret(value)) return `${name} is a known default or example value: generate a random one with \`${generate}\``;
  const strength = assessSecretStrength(value);
  if (strength.bytes >= minBytes) return undefined;
  return `${name} is too weak: about ${strength.bytes} bytes of entropy (${describeSecretWeaknesses(strength.weaknesses)}), at least ${minBytes} are required: generate one with \`${generate}\``;
}

/** Production's line for a plain-http Vault; the secrets domain refuses with it before any request. */
export const PLAIN_HTTP_VAULT_PROBLEM = 'WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit';
/** Production's line for a plain-http AWS endpoint on another host. */
export const PLAIN_HTTP_AWS_PROBLEM = 'WARDEN_AWS_ENDPOINT uses plain http to a remote host: use https so the secrets it returns are encrypted in transit';

/**
 * Problems that make a configuration unsafe for production, one clear line each. In
 * production any of them refuses start-up; in staging they are printed as warnings (except a
 * missing secret key, which staging also refuses).
 */
export function productionProblems(settings: Settings): string[] {
  const problems: string[] = [];
  const secret = settings.secretKey;
  if (secret === undefined) {
    // With a provider configured the value was looked for there too: say where, or an operator
    // checks their variables while the secret is missing from (or misnamed in) the provider.
    const where = settings.secretsProvider === 'env' ? '' : ` (not found in the ${settings.secretsProvider} secrets provider either, under the name WARDEN_SECRET_KEY)`;
    problems.push(
      `WARDEN_SECRET_KEY is missing${where}: set it (or WARDEN_SECRET_KEY_FILE) to at least 32 random bytes, e.g. \`openssl rand -base64 48\``,
    );
  } else {
    const problem = weakSecretProblem('WARDEN_SECRET_KEY', secret, MIN_SECRET_BYTES, 'openssl rand -base64 48');
    if (problem !== undefined) problems.push(problem);
  }
  if (settings.corsOrigins.includes('*')) {
    problems.push('WARDEN_CORS_ORIGINS allows every origin (*): list the exact origins instead');
  }
  if (settings.requireSharedDb && settings.databaseUrl.startsWith('sqlite:')) {
    problems.push('WARDEN_DATABASE_URL is SQLite while WARDEN_REQUIRE_SHARED_DB is set: use a postgres:// URL');
  }
  if (settings.requireSharedDb && settings.redisUrl === undefined) {
    // Without Redis the denylist, rate limits and lockouts live in each process: a logout or a
    // revoked key on one instance would not be seen by the others.
    problems.push(
      'WARDEN_REDIS_URL is unset while WARDEN_REQUIRE_SHARED_DB is set: revocations, rate limits and lockouts would be per instance; set the Redis all instances share',
    );
  }
  if (/^sqlite:(?:\/\/)?:memory:$/.test(settings.databaseUrl)) {
    problems.push('WARDEN_DATABASE_URL is an in-memory SQLite database: users, keys and the audit log would vanish at every restart; use a file or a postgres:// URL');
  }
  if (settings.logLevel === 'debug' || settings.logLevel === 'trace') {
    problems.push(`WARDEN_LOG_LEVEL is ${settings.logLevel}: use info or higher in production`);
  }
  if (settings.trustProxy === true) {
    problems.push('WARDEN_TRUST_PROXY=true trusts any client-supplied X-Forwarded-For: give a hop count or proxy addresses');
  } else if (typeof settings.trustProxy === 'number' && settings.trustProxy > MAX_TRUSTED_HOPS) {
    problems.push(
      `WARDEN_TRUST_PROXY=${settings.trustProxy} trusts more hops than production allows (${MAX_TRUSTED_HOPS}): with fewer proxies than that in front, clients choose their own IP through X-Forwarded-For; give the exact number of proxies or their addresses`,
    );
  } else if (typeof settings.trustProxy === 'object') {
    // `0.0.0.0/0` and the like trust every hop, exactly what `true` does, so they get its verdict.
    const families = familiesTrustedEntirely(settings.trustProxy);
    if (families.length > 0) {
      problems.push(
        `WARDEN_TRUST_PROXY trusts every ${families.join(' and ')} address, the same as true: any client could choose its own IP through X-Forwarded-For; give a hop count or the proxies' addresses`,
      );
    }
    // A family already refused as a whole needs no second line about its parts.
    const wide = widePublicEntries(settings.trustProxy, families);
    if (wide.length > 0) {
      problems.push(
        `WARDEN_TRUST_PROXY trusts public ranges wider than /${MIN_PUBLIC_PREFIX.IPv4} (IPv4) or /${MIN_PUBLIC_PREFIX.IPv6} (IPv6): ${wide.join(', ')}; any host in them could choose its client IP through X-Forwarded-For; list the proxies' own addresses or subnets`,
      );
    }
  }
  if (settings.rateLimitFailurePolicy === 'fail-open' && !settings.rateLimitAllowMemoryFallback) {
    problems.push(
      'WARDEN_RATELIMIT_FAILURE_POLICY=fail-open falls back to per-instance in-memory limits when Redis fails: set WARDEN_RATELIMIT_ALLOW_MEMORY_FALLBACK=true to accept that, or use fail-closed',
    );
  }
  if (settings.metricsToken !== undefined) {
    const problem = weakSecretProblem('WARDEN_METRICS_TOKEN', settings.metricsToken, MIN_METRICS_TOKEN_BYTES, 'openssl rand -hex 32');
    if (problem !== undefined) problems.push(problem);
  }
  // The parsers check only the length: 32 bytes of encoded text would pass them.
  if (settings.encryptionKey !== undefined) {
    for (const { id, key } of keyringEntries(settings.encryptionKey)) {
      const problem = weakSecretProblem(`WARDEN_ENCRYPTION_KEY (key ${id})`, key, MIN_SECRET_BYTES, 'warden crypto keygen --format aes-gcm');
      if (problem !== undefined) problems.push(problem);
    }
  }
  if (settings.apiKeyPepper !== undefined) {
    for (const { id, key } of keyringEntries(settings.apiKeyPepper)) {
      // A bare `1` names the version derived from WARDEN_SECRET_KEY (checked above): no key here.
      if (id === '' && key === '1') continue;
      const problem = weakSecretProblem(`WARDEN_API_KEY_PEPPER (version ${id})`, key, MIN_SECRET_BYTES, "openssl rand -base64 32 | tr '+/' '-_' | tr -d '='");
      if (problem !== undefined) problems.push(problem);
    }
  }
  if (usesPlainHttp(settings.jwtIssuer, { exceptLoopback: true })) {
    // The OAuth metadata names its endpoints on the issuer: clients that discover them would
    // send their client secrets in clear.
    problems.push('WARDEN_JWT_ISSUER uses plain http to a remote host: OAuth clients would send their secrets in clear to the endpoints it names; use https');
  }
  if (usesPlainHttp(settings.vaultAddr)) {
    problems.push(PLAIN_HTTP_VAULT_PROBLEM);
  }
  if (usesPlainHttp(settings.llmUrl, { exceptLoopback: true })) {
    problems.push('WARDEN_LLM_URL uses plain http to a remote host: use https so the API key and the log excerpts are encrypted in transit');
  }
  if (usesPlainHttp(settings.awsEndpoint, { exceptLoopback: true })) {
    problems.push(PLAIN_HTTP_AWS_PROBLEM);
  }
  if (settings.llmUrl !== undefined && settings.llmModel === undefined) {
    problems.push('WARDEN_LLM_URL is set without WARDEN_LLM_MODEL: set the model name or unset the URL');
  }
  return problems;
}

/**
 * Risks that staging and production only warn about, one line each: HTTP hardening turned
 * down (see hardeningWarnings), and a PostgreSQL connection to another host that does not
 * verify the server (in clear, or sslmode=prefer/require without sslrootcert). The latter is
 * not refused like productionProblems: reaching a database only inside a private
 * network (a VPC) without verifying it is a risk operators may take knowingly, and refusing
 * would stop services that run safely enough today. `pgSslMode` is PGSSLMODE, which applies
 * when the URL sets no sslmode.
 */
export function productionWarnings(settings: Settings, pgSslMode?: string): string[] {
  const warnings: string[] = [];
  if (/^postgres(ql)?:\/\//.test(settings.databaseUrl)) {
    const tls = postgresTlsWarning(settings.databaseUrl, pgSslMode);
    if (tls !== undefined) warnings.push(tls);
  }
  warnings.push(...hardeningWarnings(settings));
  return warnings;
}

/**
 * HTTP hardening turned down from its defaults. Warnings rather than refusals: each has a
 * setting where it is the right call (a proxy in front sends its own HSTS and CSP or limits
 * rates, an intranet page is served over plain http), but none should happen by accident.
 */
function hardeningWarnings(settings: Settings): string[] {
  const warnings: string[] = [];
  const plainHttp = settings.corsOrigins.filter((origin) => origin !== '*' && usesPlainHttp(origin, { exceptLoopback: true }));
  if (plainHttp.length > 0) {
    warnings.push(
      `WARDEN_CORS_ORIGINS allows plain-http origins (${plainHttp.join(', ')}): a page served without TLS can be altered in transit and then call Warden with its users' credentials; use https origins`,
    );
  }
  if (settings.hstsMaxAge === 0) {
    warnings.push('WARDEN_HSTS_MAX_AGE is 0: browsers are told to forget that this host is HTTPS-only; keep the default unless a proxy in front sends HSTS');
  }
  const defaultSources = settings.contentSecurityPolicy
    .split(';')
    .map((directive) => directive.trim().split(/\s+/))
    .find(([name]) => name?.toLowerCase() === 'default-src')
    ?.slice(1);
  if (defaultSources === undefined || defaultSources.includes('*')) {
    warnings.push("WARDEN_CSP has no default-src, or one that allows every source (*): Warden's answers are JSON, and the default (default-src 'self'; frame-ancestors 'none') costs nothing");
  }
  for (const [name, value] of [
    ['WARDEN_RATELIMIT_DEFAULT', settings.rateLimitDefault],
    ['WARDEN_RATELIMIT_AUTH', settings.rateLimitAuth],
  ] as const) {
    if (/^\s*off\s*$/i.test(value)) warnings.push(`${name} is off: nothing limits request rates per client IP there unless a proxy in front does`);
  }
  return warnings;
}
