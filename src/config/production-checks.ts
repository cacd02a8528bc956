import { assessSecretStrength, describeSecretWeaknesses, isKnownDefaultSecret, MIN_SECRET_BYTES } from './secret-strength.js';
import type { Settings } from './setting-definitions.js';
import { familiesTrustedEntirely } from './trust-proxy-scope.js';

/**
 * Problems that make a configuration unsafe for production, one clear line each. In
 * production any of them refuses start-up; in staging they are printed as warnings (except a
 * missing secret key, which staging also refuses).
 */
export function productionProblems(settings: Settings): string[] {
  const problems: string[] = [];
  const secret = settings.secretKey;
  if (secret === undefined) {
    problems.push(
      'WARDEN_SECRET_KEY is missing: set it (or WARDEN_SECRET_KEY_FILE) to at least 32 random bytes, e.g. `openssl rand -base64 48`',
    );
  } else if (isKnownDefaultSecret(secret)) {
    problems.push('WARDEN_SECRET_KEY is a known default or example value: generate a random one');
  } else {
    // The reason names the structure found, never the value: this line is printed and logged.
    const strength = assessSecretStrength(secret);
    if (strength.bytes < MIN_SECRET_BYTES) {
      problems.push(
        `WARDEN_SECRET_KEY is too weak: about ${strength.bytes} bytes of entropy (${describeSecretWeaknesses(strength.weaknesses)}), at least ${MIN_SECRET_BYTES} are required`,
      );
    }
  }
  if (settings.corsOrigins.includes('*')) {
    problems.push('WARDEN_CORS_ORIGINS allows every origin (*): list the exact origins instead');
  }
  if (settings.requireSharedDb && settings.databaseUrl.startsWith('sqlite:')) {
    problems.push('WARDEN_DATABASE_URL is SQLite while WARDEN_REQUIRE_SHARED_DB is set: use a postgres:// URL');
  }
  if (settings.logLevel === 'debug' || settings.logLevel === 'trace') {
    problems.push(`WARDEN_LOG_LEVEL is ${settings.logLevel}: use info or higher in production`);
  }
  if (settings.trustProxy === true) {
    problems.push('WARDEN_TRUST_PROXY=true trusts any client-supplied X-Forwarded-For: give a hop count or proxy addresses');
  } else if (typeof settings.trustProxy === 'object') {
    // `0.0.0.0/0` and the like trust every hop, exactly what `true` does, so they get its verdict.
    const families = familiesTrustedEntirely(settings.trustProxy);
    if (families.length > 0) {
      problems.push(
        `WARDEN_TRUST_PROXY trusts every ${families.join(' and ')} address, the same as true: any client could choose its own IP through X-Forwarded-For; give a hop count or the proxies' addresses`,
      );
    }
  }
  if (settings.rateLimitFailurePolicy === 'fail-open' && !settings.rateLimitAllowMemoryFallback) {
    problems.push(
      'WARDEN_RATELIMIT_FAILURE_POLICY=fail-open falls back to per-instance in-memory limits when Redis fails: set WARDEN_RATELIMIT_ALLOW_MEMORY_FALLBACK=true to accept that, or use fail-closed',
    );
  }
  if (settings.metricsToken !== undefined) {
    const strength = assessSecretStrength(settings.metricsToken);
    if (strength.bytes < 16) {
      problems.push(
        `WARDEN_METRICS_TOKEN is too weak (${describeSecretWeaknesses(strength.weaknesses)}): use at least 16 random bytes`,
      );
    }
  }
  if (settings.vaultAddr?.startsWith('http://') === true) {
    problems.push('WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit');
  }
  if (settings.llmUrl?.startsWith('http://') === true && !/^http:\/\/(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?(?:\/|$)/.test(settings.llmUrl)) {
    problems.push('WARDEN_LLM_URL uses plain http to a remote host: use https so the API key and the log excerpts are encrypted in transit');
  }
  if (settings.llmUrl !== undefined && settings.llmModel === undefined) {
    problems.push('WARDEN_LLM_URL is set without WARDEN_LLM_MODEL: set the model name or unset the URL');
  }
  return problems;
}
