/** Exit codes scripts can rely on (sysexits.h where one fits). */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem (failed check, broken chain, missing secret…). */
  failure: 1,
  /** Wrong flags or arguments. */
  usage: 2,
  /** Input data was invalid (e.g. a ciphertext that does not decrypt). */
  dataError: 65,
  /** An input file named on the command line cannot be read (missing, a directory, no permission): EX_NOINPUT. */
  noInput: 66,
  /** The database, Redis, the secrets backend or another service is unreachable. */
  unavailable: 69,
  /** An unexpected internal error. */
  software: 70,
  /** The operating system refused a resource, e.g. the port to listen on is in use: EX_OSERR. */
  osError: 71,
  /** The configuration is invalid or unsafe for the profile. */
  config: 78,
  /**
   * stdout was closed before the output was complete (`warden audit export | head -1`): no
   * message, and the status a shell reports for a command killed by SIGPIPE (128 + 13), as
   * `git log | head` gives under `set -o pipefail`.
   */
  brokenPipe: 141,
} as const;
