import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import { readSecretFileSync, SecretFileError } from './secret-file.js';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';

/** Where a setting's value came from, in precedence order (first wins). */
export type SettingSource = 'args' | 'env' | 'env-file' | 'secrets-dir' | 'dotenv' | 'dotenv-file' | 'secrets-provider' | 'default' | 'generated';

export interface RawValue {
  readonly value: string;
  readonly source: SettingSource;
}

export interface SourceLayers {
  /** Explicit values, e.g. from CLI flags, keyed by variable name. */
  readonly args: Readonly<Record<string, string | undefined>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly dotenv: Readonly<Record<string, string>>;
  readonly secretsDir: string | undefined;
  /** Secrets fetched from WARDEN_SECRETS_PROVIDER (Vault, AWS…), used when no other layer sets them. */
  readonly provider?: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** Reads a `.env` file; a missing file is an empty layer unless it is `required` (named explicitly). */
export function readDotenv(file: string, options: { required: boolean }): Record<string, string> {
  if (!existsSync(file)) {
    if (!options.required) return {};
    throw new ConfigError([`the .env file "${file}" (WARDEN_DOTENV_FILE or --env-file) does not exist`]);
  }
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (error) {
    // A directory or an unreadable file: a configuration problem, not a crash with a bare fs error.
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigError([`the .env file "${file}" (WARDEN_DOTENV_FILE) cannot be read (${code})`]);
  }
  return parseDotenv(text);
}

function readSecretFile(file: string, cwd: string, variable: string): string {
  try {
    return readSecretFileSync(path.resolve(cwd, file));
  } catch (error) {
    if (error instanceof SecretFileError) throw new Error(`${variable}_FILE points at "${file}", which ${error.problem}`);
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new Error(`${variable}_FILE points at "${file}", which cannot be read (${code})`);
  }
}

/**
 * Resolves one variable through the layers: explicit args > environment > NAME_FILE from the
 * environment > a file named NAME in the secrets directory > .env > NAME_FILE from .env > the
 * secrets provider.
 */
export function resolveRaw(name: string, layers: SourceLayers): RawValue | undefined {
  const fromArgs = layers.args[name];
  if (fromArgs !== undefined) return { value: fromArgs, source: 'args' };
  const fromEnv = layers.env[name];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: 'env' };
  const envFile = layers.env[`${name}_FILE`];
  if (envFile !== undefined && envFile !== '') {
    return { value: readSecretFile(envFile, layers.cwd, name), source: 'env-file' };
  }
  if (layers.secretsDir !== undefined) {
    for (const candidate of [name, name.toLowerCase()]) {
      const file = path.resolve(layers.cwd, layers.secretsDir, candidate);
      if (existsSync(file)) return { value: readSecretFile(file, layers.cwd, name), source: 'secrets-dir' };
    }
  }
  const fromDotenv = layers.dotenv[name];
  if (fromDotenv !== undefined && fromDotenv !== '') return { value: fromDotenv, source: 'dotenv' };
  const dotenvFile = layers.dotenv[`${name}_FILE`];
  if (dotenvFile !== undefined && dotenvFile !== '') {
    return { value: readSecretFile(dotenvFile, layers.cwd, name), source: 'dotenv-file' };
  }
  const fromProvider = layers.provider?.[name];
  if (fromProvider !== undefined) return { value: fromProvider, source: 'secrets-provider' };
  return undefined;
}
