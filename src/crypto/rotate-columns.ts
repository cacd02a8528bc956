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
  /**
   * Rows written by someone else every time rotation re-read them (an instance still sealing
   * with an old key keeps writing): not rotated; run rotation again once every instance has
   * the new keyring.
   */
  readonly unsettledIds: readonly string[];
}

/** How often a row that changed between read and write is read again before it is reported. */
const MAX_ROW_ATTEMPTS = 5;

export interface RotateColumnsOptions {
  /** Rows read per batch. @default 200 */
  readonly batchSize?: number;
  /** Count what would change without writing. @default false */
  readonly dryRun?: boolean;
  /** The root secret, for `openLegacy` decoders that need it (they throw without it, and the row is reported). */
  readonly rootSecret?: string;
}

/**
 * Re-encrypts every value of the given columns that is plaintext or sealed with a
 * non-active key, so that retired keys can be removed from the keyring afterwards. Keyset
 * pagination by id keeps memory flat; each update is conditional on the old value so a
 * concurrent write is never overwritten with stale data, and a row written meanwhile is read
 * again and rotated in turn (counted only once its update lands).
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
    let scanned = 0;
    let rotated = 0;
    const failedIds: string[] = [];
    const unsettledIds: string[] = [];
    let after: string | undefined;
    for (;;) {
      let query = db.selectFrom(spec.table).selectAll().orderBy(spec.idColumn).limit(batchSize);
      if (after !== undefined) query = query.where(spec.idColumn, '>', after);
      const rows = (await query.execute()) as Record<string, unknown>[];
      if (rows.length === 0) break;
      for (const row of rows) {
        scanned += 1;
        const id = String(row[spec.idColumn]);
        let current: Record<string, unknown> | undefined = row;
        for (let attempt = 1; current !== undefined; attempt++) {
          const stored = current[spec.column];
          if (typeof stored !== 'string' || !cipher.needsRotation(stored)) break;
          let plaintext: string;
          const legacy = !isEncryptedField(stored) && spec.openLegacy !== undefined;
          try {
            if (isEncryptedField(stored)) plaintext = cipher.decrypt(stored, spec.aad(current));
            else if (spec.openLegacy === undefined) plaintext = stored;
            else plaintext = spec.openLegacy(stored, current, options.rootSecret);
          } catch (error) {
            // A legacy decoder failing (e.g. a GCM tag mismatch) counts like a DecryptionError: the row is reported.
            if (!(error instanceof DecryptionError) && !legacy) throw error;
            failedIds.push(id);
            break;
          }
          if (options.dryRun === true) {
            rotated += 1;
            break;
          }
          // Conditional on the value read, so a concurrent write is never overwritten with stale data.
          const written = await db
            .updateTable(spec.table)
            .set({ [spec.column]: cipher.encrypt(plaintext, spec.aad(current)) })
            .where(spec.idColumn, '=', row[spec.idColumn])
            .where(spec.column, '=', stored)
            .executeTakeFirst();
          if (written.numUpdatedRows > 0n) {
            rotated += 1;
            break;
          }
          // Written by someone else since it was read: what is there now may still be under an old key.
          if (attempt === MAX_ROW_ATTEMPTS) {
            unsettledIds.push(id);
            break;
          }
          current = (await db.selectFrom(spec.table).selectAll().where(spec.idColumn, '=', row[spec.idColumn]).executeTakeFirst()) as Record<string, unknown> | undefined;
        }
      }
      after = String(rows[rows.length - 1]?.[spec.idColumn]);
      if (rows.length < batchSize) break;
    }
    reports.push({ table: spec.table, column: spec.column, scanned, rotated, failedIds, unsettledIds });
  }
  return reports;
}
