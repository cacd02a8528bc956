import type { Kysely } from 'kysely';
import type { EncryptedColumn } from './encrypted-columns.js';
import { DecryptionError } from './decryption-error.js';
import { isEncryptedField, type KeyringFieldCipher } from './field-cipher.js';

/** What rotation did to one column. */
export interface ColumnRotationReport {
  readonly table: string;
  readonly column: string;
  readonly scanned: number;
  /** Values re-encrypted with the active key (including legacy plaintext now encrypted). */
  readonly rotated: number;
  /** Rows whose value could not be decrypted (ids only; values are never reported). */
  readonly failedIds: readonly string[];
}

export interface RotateColumnsOptions {
  /** Rows read per batch. @default 200 */
  readonly batchSize?: number;
  /** Count what would change without writing. @default false */
  readonly dryRun?: boolean;
  /** The root secret, for columns with an `openLegacy` decoder. */
  readonly rootSecret?: string;
}

/**
 * Re-encrypts every value of the given columns that is plaintext or sealed with a
 * non-active key, so that retired keys can be removed from the keyring afterwards. Keyset
 * pagination by id keeps memory flat; each update is conditional on the old value so a
 * concurrent write is never overwritten with stale data.
 */
export async function rotateEncryptedColumns(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- table and column names come from the registry at run time
  db: Kysely<any>,
  cipher: KeyringFieldCipher,
  columns: readonly EncryptedColumn[],
  options: RotateColumnsOptions = {},
): Promise<ColumnRotationReport[]> {
  const batchSize = options.batchSize ?? 200;
  const reports: ColumnRotationReport[] = [];
  for (const spec of columns) {
    if (spec.openLegacy !== undefined && options.rootSecret === undefined) throw new TypeError(`rotating ${spec.table}.${spec.column} needs options.rootSecret`);
    let scanned = 0;
    let rotated = 0;
    const failedIds: string[] = [];
    let after: string | undefined;
    for (;;) {
      let query = db.selectFrom(spec.table).selectAll().orderBy(spec.idColumn).limit(batchSize);
      if (after !== undefined) query = query.where(spec.idColumn, '>', after);
      const rows = (await query.execute()) as Record<string, unknown>[];
      if (rows.length === 0) break;
      for (const row of rows) {
        scanned += 1;
        const id = String(row[spec.idColumn]);
        const stored = row[spec.column];
        if (typeof stored !== 'string' || !cipher.needsRotation(stored)) continue;
        let plaintext: string;
        const legacy = !isEncryptedField(stored) && spec.openLegacy !== undefined;
        try {
          if (isEncryptedField(stored)) plaintext = cipher.decrypt(stored, spec.aad(row));
          else if (spec.openLegacy === undefined) plaintext = stored;
          else plaintext = spec.openLegacy(stored, row, options.rootSecret as string);
        } catch (error) {
          // A legacy decoder failing (e.g. a GCM tag mismatch) counts like a DecryptionError: the row is reported.
          if (!(error instanceof DecryptionError) && !legacy) throw error;
          failedIds.push(id);
          continue;
        }
        if (options.dryRun !== true) {
          await db
            .updateTable(spec.table)
            .set({ [spec.column]: cipher.encrypt(plaintext, spec.aad(row)) })
            .where(spec.idColumn, '=', row[spec.idColumn])
            .where(spec.column, '=', stored)
            .execute();
        }
        rotated += 1;
      }
      after = String(rows[rows.length - 1]?.[spec.idColumn]);
      if (rows.length < batchSize) break;
    }
    reports.push({ table: spec.table, column: spec.column, scanned, rotated, failedIds });
  }
  return reports;
}
