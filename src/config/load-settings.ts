import { statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors/index.js';
import { parsePolicyList, SLIDING_LOG_MAX_LIMIT } from '../ratelimit/policy.js';
import { devSecret, existingDevSecret } from './dev-secrets.js';
import { ParseProblem } from './parsers.js';
import { productionProblems, productionWarnings } from './production-checks.js';
import {
  SETTING_DEFINITIONS,
  type Profile,
  type SettingDefinition,
  type SettingKey,
  type Settings,
} from './setting-definitions.js';
import { readDotenv, resolveRaw, type SettingSource, type SourceLayers } from './sources.js';

export interface LoadSettingsOptions {
  /** Explicit values (highest precedence), keyed by variable name, e.g. from CLI flags. */
  readonly args?: Readonly<Record<string, string | undefined>>;
  /**
   * Secrets fetched from the configured provider (`resolveServiceSecrets`): used for a setting
   * no other layer sets, and shown with the source `secrets-provider`.
   */
  readonly providerSecrets?: Readonly<Record<string, string>>;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths and `.env` are resolved against. @default process.cwd() */
  readonly cwd?: string;
  /** Path of the `.env` file (which must exist), or false to ignore it. @default `${cwd}/.env`, if present (or WARDEN_DOTENV_FILE, which must exist) */
  readonly envFile?: string | false;
  /** Generate and persist missing secrets in development. @default true */
  readonly generateDevSecrets?: boolean;
  /**
   * With generateDevSecrets false: still use a secret an earlier development start generated
   * into `<data dir>/dev-secrets.json`, without ever creating the file (read-only commands).
   * Never applies outside the development profile. @default false
   */
  readonly readDevSecrets?: boolean;
  /**
   * Throw on what the profile refuses (production: every productionProblems line; staging: a
   * missing secret key). false = return them in `warnings` instead, for `warden config check`,
   * which reports them; values that do not parse are refused either way. @default true
   */
  readonly refuseUnsafe?: boolean;
}

export interface LoadedSettings {
  readonly settings: Settings;
  /** Where each setting came from. */
  readonly sources: Readonly<Record<SettingKey, SettingSource>>;
  /** Names of secrets generated on this start (values never included). */
  readonly generated: readonly string[];
  /**
   * Problems that do not stop this profile from starting: productionProblems in staging, and
   * productionWarnings in staging and production. Printed at start-up.
   */
  readonly warnings: readonly string[];
}

/**
 * Reads, validates and freezes the settings. Throws a ConfigError listing every problem, one
 * line each, naming the variable and the reason; production also fails on unsafe values.
 */
export function loadSettings(options: LoadSettingsOptions = {}): LoadedSettings {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  // Read before the layers exist, so resolveRaw's rule is applied by hand: an empty variable counts as unset.
  const namedEnvFile = options.envFile ?? nonEmpty(env.WARDEN_DOTENV_FILE);
  // Only the default ./.env may be absent: a file named on purpose that is missing (a typo, a
  // volume not mounted) would start a production service with development defaults.
  const dotenv = namedEnvFile === false ? {} : readDotenv(path.resolve(cwd, namedEnvFile ?? '.env'), { required: namedEnvFile !== undefined });
  const problems: string[] = [];
  const layers: SourceLayers = {
    args: options.args ?? {},
    env,
    dotenv,
    secretsDir: secretsDirectory({ args: options.args ?? {}, env, dotenv, secretsDir: undefined, cwd }, problems),
    provider: options.providerSecrets ?? {},
    cwd,
  };

  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const sources: Record<string, SettingSource> = Object.create(null) as Record<string, SettingSource>;

  // The profile decides the other defaults, so it is resolved first.
  const profile = resolveOne('env', SETTING_DEFINITIONS.env, 'development', layers, values, sources, problems) as Profile;

  for (const [key, definition] of Object.entries(SETTING_DEFINITIONS) as [SettingKey, SettingDefinition<unknown>][]) {
    if (key === 'env') continue;
    resolveOne(key, definition, profile, layers, values, sources, problems);
  }
  problems.push(...slidingLogProblems(values));
  if (problems.length > 0) throw new ConfigError(problems);

  values.dataDir = path.resolve(cwd, values.dataDir as string);
  values.databaseUrl = absoluteSqliteUrl(values.databaseUrl as string, cwd);

  const generated: string[] = [];
  // Development only: staging and production never fall back to a file of generated secrets.
  if (values.secretKey === undefined && profile === 'development') {
    const dataDir = values.dataDir as string;
    let value: string | undefined;
    try {
      if (options.generateDevSecrets !== false) {
        const secret = devSecret(dataDir, 'WARDEN_SECRET_KEY');
        value = secret.value;
        if (secret.generated) generated.push('WARDEN_SECRET_KEY');
      } else if (options.readDevSecrets === true) {
        value = existingDevSecret(dataDir, 'WARDEN_SECRET_KEY');
      }
    } catch (error) {
      // A damaged dev-secrets.json (its messages name the file, never a value) or an unwritable data directory.
      throw new ConfigError([`WARDEN_SECRET_KEY cannot be taken from the development secrets: ${(error as Error).message}`]);
    }
    if (value !== undefined) {
      values.secretKey = value;
      sources.secretKey = 'generated';
    }
  }

  const settings = Object.freeze(values) as unknown as Settings;
  const warnings: string[] = [];
  if (profile !== 'development') {
    const unsafe = productionProblems(settings);
    const refuse = options.refuseUnsafe !== false;
    if (refuse && profile === 'production' && unsafe.length > 0) throw new ConfigError(unsafe);
    const missingSecret = unsafe.filter((p) => p.startsWith('WARDEN_SECRET_KEY is missing'));
    if (refuse && missingSecret.length > 0) throw new ConfigError(missingSecret);
    warnings.push(...unsafe, ...productionWarnings(settings, env.PGSSLMODE));
  }
  return {
    settings,
    sources: Object.freeze(sources) as Record<SettingKey, SettingSource>,
    generated: Object.freeze(generated),
    warnings: Object.freeze(warnings),
  };
}

/**
 * The directory the secrets-dir layer reads: WARDEN_SECRETS_DIR resolved through the layers
 * above it and trimmed, exactly as the setting that `config check` shows. A directory that is
 * not there would leave every secret it holds silently unset, so it is a problem.
 */
function secretsDirectory(layers: SourceLayers, problems: string[]): string | undefined {
  let raw;
  try {
    raw = resolveRaw('WARDEN_SECRETS_DIR', layers);
  } catch {
    return undefined; // the setting itself reports the unreadable WARDEN_SECRETS_DIR_FILE
  }
  const dir = raw?.value.trim();
  if (dir === undefined || dir === '') return undefined;
  const resolved = path.resolve(layers.cwd, dir);
  if (!statSync(resolved, { throwIfNoEntry: false })?.isDirectory()) {
    problems.push(`WARDEN_SECRETS_DIR "${dir}" is not a directory (not mounted?): the secrets it should hold would stay unset`);
  }
  return resolved;
}

function resolveOne(
  key: string,
  definition: SettingDefinition<unknown>,
  profile: Profile,
  layers: SourceLayers,
  values: Record<string, unknown>,
  sources: Record<string, SettingSource>,
  problems: string[],
): unknown {
  let raw;
  try {
    raw = resolveRaw(definition.name, layers);
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
  if (raw === undefined) {
    values[key] = definition.fallback?.(profile);
    sources[key] = 'default';
    return values[key];
  }
  try {
    values[key] = definition.parse(raw.value);
    sources[key] = raw.source;
  } catch (error) {
    if (!(error instanceof ParseProblem)) throw error;
    // Secret values are never echoed back, even when they fail to parse.
    const reason = definition.secret === true ? error.message.replace(/"[^"]*"/g, '(hidden)') : error.message;
    problems.push(`${definition.name} ${reason}`);
  }
  return values[key];
}

/**
 * The sliding log keeps one entry per request, so its limits are bounded: a bound that two
 * settings decide together, checked here so that a bad pair is a config error naming them
 * rather than a TypeError when the app builds its limits.
 */
function slidingLogProblems(values: Record<string, unknown>): string[] {
  if (values.rateLimitAlgorithm !== 'sliding-log') return [];
  const problems: string[] = [];
  for (const [name, raw] of [['WARDEN_RATELIMIT_DEFAULT', values.rateLimitDefault], ['WARDEN_RATELIMIT_AUTH', values.rateLimitAuth]] as const) {
    if (typeof raw !== 'string') continue;
    const tooHigh = parsePolicyList(raw).filter((item) => item.limit > SLIDING_LOG_MAX_LIMIT);
    if (tooHigh.length > 0) problems.push(`${name} has a limit above ${SLIDING_LOG_MAX_LIMIT}, the most WARDEN_RATELIMIT_ALGORITHM=sliding-log allows (one entry per request): lower it or choose another algorithm`);
  }
  return problems;
}

/** Resolves a relative SQLite path against cwd so that the service does not depend on where it was started. */
function absoluteSqliteUrl(url: string, cwd: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const file = url.slice('sqlite:'.length);
  if (file === ':memory:' || path.isAbsolute(file)) return url;
  return `sqlite:${path.resolve(cwd, file)}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}
