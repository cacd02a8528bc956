import { constants } from 'node:fs';
import { open, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertSecretName, SecretProviderError, type SecretProvider } from './secret-provider.js';

export interface FileProviderOptions {
  /** Directory where a file named like the secret holds its value (e.g. /run/secrets). */
  readonly dir?: string;
  /** Where `NAME_FILE` variables are looked up. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Largest secret file read: keys, passwords, tokens, a PEM certificate chain or a small JSON
 * document fit many times over (AWS Secrets Manager caps a secret at the same 64 KiB).
 */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * The contents of a secret file, without one trailing newline; undefined when it does not exist.
 * `where` names the variable and the path in errors, which never hold any content.
 */
async function readSecretFile(provider: string, file: string, where: string): Promise<string | undefined> {
  const failure = (error: unknown): SecretProviderError =>
    new SecretProviderError(provider, `${where} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever; a regular file ignores it.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw failure(error);
  }
  const tooLarge = (): SecretProviderError => new SecretProviderError(provider, `${where} is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
  try {
    // Checked on the opened descriptor, so a path swapped after the check cannot slip through.
    // /dev/zero, /dev/urandom, a FIFO, a socket or a directory is no secret, and some never end.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new SecretProviderError(provider, `${where} is not a regular file`);
    if (stat.size > MAX_SECRET_FILE_BYTES) throw tooLarge();
    // The size can change after fstat (and is 0 for some generated files): read at most one byte past the bound.
    const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SECRET_FILE_BYTES) throw tooLarge();
    }
    // One trailing newline is what `echo > file` adds; it is never part of the secret.
    return buffer.subarray(0, length).toString('utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw error instanceof SecretProviderError ? error : failure(error);
  } finally {
    await handle.close();
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
        return entries.filter((e) => e.isFile() && !e.name.startsWith('.') && e.name.startsWith(prefix)).map((e) => e.name).sort();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new SecretProviderError(name, 'cannot list the secrets directory', { cause: error });
      }
    };
  }
  return provider;
}
