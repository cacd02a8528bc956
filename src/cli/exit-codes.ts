/** Exit codes scripts can rely on (sysexits.h where one fits). */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem (failed check, broken chain, missing secret…). */
  failure: 1,
  /** Wrong flags or arguments. */
  usage: 2,
  /** Input data was invalid (e.g. a ciphertext that does not decrypt). */
  dataError: 65,
  /** The database, Redis or another service is unreachable. */
  unavailable: 69,
  /** An unexpected internal error. */
  software: 70,
  /** The configuration is invalid or unsafe for the profile. */
  config: 78,
} as const;
