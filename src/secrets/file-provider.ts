import type { Dirent } from 'node:fs';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readSecretFileSync, SecretFileError } from '../config/secret-file.js';
import { assertSecretName, SecretProviderError, type SecretProvider } from './secret-provider.js';

export interface FileProviderOptions {
  /** Directory where a file named like the secret holds its value (e.g. /run/secrets). */
  readonly dir?: string;
  /** Where `NAME_FILE` variables are looked up. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The contents of a secret file, without one trailing newline; undefined when it does not exist.
 * Only a regular file of at most MAX_SECRET_FILE_BYTES is read (see readSecretFileSync: it is
 * the reader NAME_FILE settings use too). `where` names the variable and the path in errors,
 * which never hold any content.
 */
async function readSecretFile(provider: string, file: string, where: string): Promise<string | undefined> {
  try {
    return readSecretFileSync(file);
  } catch (error) {
    if (error instanceof SecretFileError) throw new SecretProviderError(provider, `${where} ${error.problem}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new SecretProviderError(provider, `${where} cannot be read (${code ?? 'error'})`, { cause: error });
  }
}

/**
 * Secrets from files: `NAME_FILE=/path` first, then `<dir>/NAME`. Only regular files of at most
 * MAX_SECRET_FILE_BYTES are read. `set` writes `<dir>/NAME` atomically with mode 0600; `list`
 * lists the directory.
 */
export function createFileProvider(options: FileProviderOptions = {}): SecretProvider {
  const env = options.env ?? process.env;
  const dir = options.dir === undefined ? undefined : path.resolve(options.dir);
  const name = dir === undefined ? 'file' : `file:${dir}`;
  const provider: SecretProvider = {
    name,
    async get(secret) {
      assertSecretName(secret);
      const pointer = env[`${secret}_FILE`];
      if (pointer !== undefined && pointer !== '') {
        const value = await readSecretFile(name, pointer, `${secret}_FILE (${pointer})`);
        if (value === undefined) throw new SecretProviderError(name, `${secret}_FILE points to a file that does not exist`);
        return value;
      }
      if (dir === undefined || secret.includes('/')) return undefined;
      const file = path.join(dir, secret);
      return readSecretFile(name, file, `${secret} in the secrets directory (${file})`);
    },
  };
  if (dir !== undefined) {
    provider.set = async (secret, value) => {
      assertSecretName(secret);
      if (secret.includes('/')) throw new TypeError('file secrets cannot contain "/"');
      const target = path.join(dir, secret);
      const temp = path.join(dir, `.${secret}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(temp, value, { mode: 0o600, flag: 'wx' });
        await rename(temp, target);
      } catch (error) {
        // The temp file holds the secret: never leave it behind when the write or the rename fails.
        await rm(temp, { force: true });
        throw new SecretProviderError(name, `cannot write ${secret} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
      }
    };
    provider.list = async (prefix) => {
      try {
        const entries = await readdir(dir, { withFileTypes: true });
        const named = entries.filter((e) => !e.name.startsWith('.') && e.name.startsWith(prefix));
        // A Kubernetes secret volume holds every key as a link (`NAME -> ..data/NAME`), which `get` follows.
        const isSecretFile = async (e: Dirent): Promise<boolean> =>
          e.isFile() || (e.isSymbolicLink() && (await stat(path.join(dir, e.name)).then((s) => s.isFile(), () => false)));
        const kept = await Promise.all(named.map(isSecretFile));
        return named.filter((_e, i) => kept[i]).map((e) => e.name).sort();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new SecretProviderError(name, 'cannot list the secrets directory', { cause: error });
      }
    };
  }
  return provider;
}
