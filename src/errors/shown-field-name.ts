/**
 * A field or parameter name as a refusal may show it: a plain word (letters and `_`, at most
 * 32). Anything else — digits, dots, dashes, more length — is not named, because a name chosen
 * by mistake may be a secret (a dump keyed by key, `{"sk_live_4eC39…": {…}}`; a form body
 * `<client secret>&<client secret>`), and error lines and bodies get logged.
 */
export function shownFieldName(name: string): string {
  return /^[A-Za-z_]{1,32}$/.test(name) ? JSON.stringify(name) : '(a name not shown: it may be a secret)';
}
