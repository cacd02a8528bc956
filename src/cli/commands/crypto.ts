import type { Command } from 'commander';
import pino from 'pino';
import { createAuditLogDomain } from '../../audit/audit-log-domain.js';
import { openEnvelope, sealEnvelope } from '../../crypto/aes-gcm-envelope.js';
import { generateAesKeyEntry, parseAesKeyring } from '../../crypto/aes-gcm-keyring.js';
import { ENCRYPTED_COLUMNS } from '../../crypto/encrypted-columns.js';
import { createKeyringFieldCipher } from '../../crypto/field-cipher.js';
import { generateFernetKey } from '../../crypto/fernet.js';
import { parseFernetKeyring } from '../../crypto/multi-fernet.js';
import { rotateEncryptedColumns } from '../../crypto/rotate-columns.js';
import { CliFailure, MAX_LINE_INPUT_BYTES, readInputFile, type CliIo } from '../cli-io.js';
import { loadCliSettings } from '../cli-settings.js';
import { EXIT } from '../exit-codes.js';
import { withCheckedDatabase } from '../../server/secret-key-check.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;
type Format = 'fernet' | 'aes-gcm';
interface CipherOptions {
  format: string;
  keyFile?: string;
  aad?: string;
}

/** Environment variables holding a keyring when no --key-file is given. */
export const KEYRING_ENV: Readonly<Record<Format, string>> = { fernet: 'WARDEN_FERNET_KEYS', 'aes-gcm': 'WARDEN_ENCRYPTION_KEY' };

function format(value: string): Format {
  if (value === 'fernet' || value === 'aes-gcm') return value;
  throw new CliFailure(`--format must be fernet or aes-gcm, got "${value.slice(0, 20)}"`, EXIT.usage);
}

// Keys come from a file or the environment, never from argv (argv is visible in `ps`).
function keyringText(options: CipherOptions, fmt: Format): string {
  if (options.keyFile !== undefined) {
    // An unreadable file named on the command line: exit 66, naming the file and why (never its content).
    return readInputFile(options.keyFile, MAX_LINE_INPUT_BYTES).trim();
  }
  const fromEnv = process.env[KEYRING_ENV[fmt]];
  if (fromEnv === undefined || fromEnv.trim() === '') throw new CliFailure(`no key: pass --key-file or set ${KEYRING_ENV[fmt]}`, EXIT.usage);
  return fromEnv.trim();
}

function parseKeys<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    // Messages from the keyring parsers name the entry, never the key.
    throw new CliFailure(`the key is not usable: ${(error as Error).message}`, EXIT.config);
  }
}

/** `warden crypto keygen|encrypt|decrypt|rotate`. */
export function registerCrypto(program: Command, io: CliIo, run: Run): void {
  const crypto = program.command('crypto').description('keys, encryption and decryption (Fernet, AES-256-GCM), re-encryption of stored columns');

  crypto
    .command('keygen')
    .description('print a new random key (fernet: url-safe base64; aes-gcm: id:base64url for WARDEN_ENCRYPTION_KEY)')
    .requiredOption('--format <format>', 'fernet or aes-gcm')
    .option('--key-id <id>', 'key id for aes-gcm (default: random)')
    .action((options: { format: string; keyId?: string }) =>
      run(async () => {
        const fmt = format(options.format);
        if (fmt === 'fernet') {
          io.out(generateFernetKey());
          return;
        }
        try {
          io.out(generateAesKeyEntry(options.keyId));
        } catch (error) {
          // The only input is the --key-id argument: a bad one is a usage error (2), not configuration.
          throw new CliFailure(`--key-id is not usable: ${(error as Error).message}`, EXIT.usage);
        }
      }),
    );

  crypto
    .command('encrypt')
    .description('encrypt stdin to stdout (one line of text)')
    .requiredOption('--format <format>', 'fernet or aes-gcm')
    .option('--key-file <file>', `keyring file (default: $${KEYRING_ENV.fernet} / $${KEYRING_ENV['aes-gcm']})`)
    .option('--aad <text>', 'aes-gcm associated data (context, not secret)')
    .action((options: CipherOptions) =>
      run(async () => {
        const fmt = format(options.format);
        const text = keyringText(options, fmt);
        const input = await io.readStdin();
        if (fmt === 'fernet') io.out(parseKeys(() => parseFernetKeyring(text)).encrypt(input));
        else io.out(sealEnvelope(parseKeys(() => parseAesKeyring(text)), input, options.aad).toString('base64url'));
      }),
    );

  crypto
    .command('decrypt')
    .description('decrypt stdin to stdout; a bad ciphertext exits 65 and prints nothing')
    .requiredOption('--format <format>', 'fernet or aes-gcm')
    .option('--key-file <file>', `keyring file (default: $${KEYRING_ENV.fernet} / $${KEYRING_ENV['aes-gcm']})`)
    .option('--aad <text>', 'aes-gcm associated data used when encrypting')
    .option('--ttl <seconds>', 'fernet: reject tokens older than this')
    .action((options: CipherOptions & { ttl?: string }) =>
      run(async () => {
        const fmt = format(options.format);
        const text = keyringText(options, fmt);
        const input = (await io.readStdin()).toString('utf8').trim();
        let plaintext: Buffer;
        if (fmt === 'fernet') {
          const ttlSec = options.ttl === undefined ? undefined : Number(options.ttl);
          if (ttlSec !== undefined && (!Number.isInteger(ttlSec) || ttlSec < 0)) throw new CliFailure('--ttl must be a whole number of seconds', EXIT.usage);
          plaintext = parseKeys(() => parseFernetKeyring(text)).decrypt(input, ttlSec === undefined ? {} : { ttlSec });
        } else {
          if (!/^[A-Za-z0-9_-]*$/.test(input)) throw new CliFailure('the ciphertext is not base64url', EXIT.dataError);
          plaintext = openEnvelope(parseKeys(() => parseAesKeyring(text)), Buffer.from(input, 'base64url'), options.aad);
        }
        // io.out adds the newline back, so text round-trips exactly when it ended with one.
        io.out(plaintext.toString('utf8').replace(/\n$/, ''));
      }),
    );

  crypto
    .command('rotate')
    .description('re-encrypt every encrypted column with the active key of WARDEN_ENCRYPTION_KEY (then older keys can be removed)')
    .option('--dry-run', 'count what would be re-encrypted without writing')
    .action((options: { dryRun?: boolean }) =>
      run(async () => {
        const { settings } = await loadCliSettings(io, { devSecrets: 'generate' });
        if (settings.encryptionKey === undefined) throw new CliFailure('WARDEN_ENCRYPTION_KEY is not set: there is no keyring to rotate to', EXIT.config);
        if (settings.secretKey === undefined) throw new CliFailure('WARDEN_SECRET_KEY is not set', EXIT.config);
        const { secretKey } = settings;
        const cipher = createKeyringFieldCipher({ rootSecret: secretKey, keyring: settings.encryptionKey });
        // Blind indexes are recomputed under the root secret: a foreign one would break lookups.
        // Not migrated here (a database with pending migrations is refused, exit 1): the
        // columns rotated are those of this build's schema.
        return withCheckedDatabase(
          settings,
          secretKey,
          async (storage) => {
            const reports = await rotateEncryptedColumns(storage.db, cipher, ENCRYPTED_COLUMNS, { dryRun: options.dryRun === true, rootSecret: secretKey });
            let failed = 0;
            const rotated = reports.reduce((sum, r) => sum + r.rotated, 0);
            if (options.dryRun !== true && rotated > 0) {
              // Re-encrypting is what allows an old data key to be removed: worth a trail, with
              // counts and key ids only.
              const audit = createAuditLogDomain({ storage, logger: pino({ level: 'silent' }), secretKey }).log;
              try {
                await audit.record({
                  action: 'crypto.rotated',
                  actor: 'cli',
                  entity_type: 'encryption_key',
                  entity_id: cipher.keyring.active.id,
                  outcome: 'success',
                  details: {
                    // A list, not a map keyed by column: the audit redactor hides any value under a
                    // key naming a private key (`signing_keys.private_key`), a count included.
                    rotated: reports.map((r) => ({ table: r.table, column: r.column, rows: r.rotated })),
                    undecryptable: reports.reduce((sum, r) => sum + r.failedIds.length, 0),
                    unsettled: reports.reduce((sum, r) => sum + r.unsettledIds.length, 0),
                  },
                });
              } finally {
                await audit.close();
              }
            }
            for (const r of reports) {
              io.out(`${r.table}.${r.column}: ${r.scanned} rows, ${r.rotated} ${options.dryRun === true ? 'would be ' : ''}re-encrypted with key ${cipher.keyring.active.id}, ${r.failedIds.length} undecryptable`);
              for (const id of r.failedIds.slice(0, 20)) io.err(`  cannot decrypt ${r.table}.${r.column} of row ${id}`);
              for (const id of r.unsettledIds.slice(0, 20)) io.err(`  ${r.table}.${r.column} of row ${id} kept changing while it was rotated: run rotate again once every instance has the new keyring`);
              failed += r.failedIds.length + r.unsettledIds.length;
            }
            return failed > 0 ? EXIT.failure : EXIT.ok;
          },
          { warn: (line) => io.err(`warden: warning: ${line}`) },
        );
      }),
    );
}
