/**
 * Role names and scopes are identifiers, not text: a short, safe character set with no
 * spaces, quotes, angle brackets or control characters. Anything else is rejected; what is
 * accepted is stored and returned byte for byte (SQL only ever sees bound values, so a name
 * like `drop--table` is just a name).
 */
export const ROLE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const SCOPE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
export const ROLE_DESCRIPTION_MAX_LENGTH = 500;

const ROLE_NAME = new RegExp(ROLE_NAME_PATTERN);
const SCOPE = new RegExp(SCOPE_PATTERN);
/**
 * Control characters (C0, DEL, C1), line separators, and the bidi controls (Unicode's
 * Bidi_Control, U+061C and the marks included) that reorder what follows them. Free text that
 * operators read — user, key and client names, role descriptions — is shown in lists, audit
 * views and the CLI's tab-separated output, where a newline or tab forges a row, an escape
 * sequence drives the terminal and U+202E makes one name pass for another.
 */
const UNSHOWABLE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u;

/** True when `text` holds a character it could be spoofed or broken with when shown (see UNSHOWABLE). */
export function hasUnshowableCharacters(text: string): boolean {
  return UNSHOWABLE.test(text);
}

/** True when `name` is an acceptable role name (1–64 chars of `A-Za-z0-9_.-`, not starting with a symbol). */
export function isRoleName(name: string): boolean {
  return ROLE_NAME.test(name);
}

/** True when `scope` is an acceptable tenant/organisation id (1–128 chars of `A-Za-z0-9_.:-`). */
export function isScope(scope: string): boolean {
  return SCOPE.test(scope);
}

/** True when a free-text description is within limits and free of control characters. */
export function isRoleDescription(description: string): boolean {
  return description.length <= ROLE_DESCRIPTION_MAX_LENGTH && !hasUnshowableCharacters(description);
}
