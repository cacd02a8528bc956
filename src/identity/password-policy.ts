import { COMMON_PASSWORDS } from './common-passwords.js';

/** Why a password was refused (returned, not thrown: a weak password is an expected denial). */
export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'equals_email';

export interface PasswordPolicyOptions {
  /** Minimum length in characters (code points). @default 12 */
  readonly minLength: number;
  /** Maximum length in UTF-8 bytes (bounds hashing cost and request size). @default 1024 */
  readonly maxBytes: number;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicyOptions = Object.freeze({ minLength: 12, maxBytes: 1024 });

/** Checks a candidate password; returns the problems found (empty = acceptable). */
export function checkPassword(
  password: string,
  context: { readonly email?: string | undefined },
  policy: PasswordPolicyOptions = DEFAULT_PASSWORD_POLICY,
): PasswordProblem[] {
  // Too long is refused before any per-character work: the checks below normalise the whole
  // input and run a suffix regex that is quadratic in a long run of punctuation, and the CLI
  // reads a password line of any size.
  if (Buffer.byteLength(password, 'utf8') > policy.maxBytes) return ['too_long'];
  // Judged in the form that is hashed (NFKC, see normalisePassword), which may be longer.
  const normalised = password.normalize('NFKC');
  if (Buffer.byteLength(normalised, 'utf8') > policy.maxBytes) return ['too_long'];
  const problems: PasswordProblem[] = [];
  if ([...normalised].length < policy.minLength) problems.push('too_short');
  if (isCommonPassword(normalised)) problems.push('common');
  if (context.email !== undefined) {
    // Also with a trailing run of digits or punctuation dropped: `jo@example.com1` is the email.
    const lowered = normalised.trim().toLowerCase();
    const candidates = [lowered, lowered.replace(/[\d\W_]+$/u, '')];
    const email = context.email.normalize('NFKC').trim().toLowerCase();
    if (candidates.some((candidate) => candidate === email || candidate === email.split('@')[0])) problems.push('equals_email');
  }
  return problems;
}

/**
 * True when the password is on the shipped list or a short unit repeated, judged without the
 * whitespace around it, and also without trailing punctuation (`123456789012 .`) or a trailing
 * run of digits and punctuation (`password1234!`): decoration must not hide a listed password.
 */
export function isCommonPassword(password: string): boolean {
  const lowered = password.trim().toLowerCase();
  const forms = new Set([lowered, lowered.replace(/[\s\p{P}\p{S}]+$/u, ''), lowered.replace(/[\d\W_]+$/u, '')]);
  for (const form of forms) {
    if (form.length === 0) continue;
    if (COMMON_PASSWORDS.has(form)) return true;
    // A short stem is what is left before a long digit run, not the password's substance.
    if ((form === lowered || form.length >= MIN_REPEATED_LENGTH) && isRepetition(form)) return true;
  }
  return false;
}

/** A stripped form shorter than this is not judged as a repetition (`aa` + 10 random digits is not `aa`). */
const MIN_REPEATED_LENGTH = 8;

/** 'qwertyqwerty', 'abc123abc123', 'zzzzzzzz': a short unit, or a common word, repeated to reach the length. */
function isRepetition(text: string): boolean {
  for (let size = 1; size <= text.length / 2; size += 1) {
    if (text.length % size === 0 && text.slice(0, size).repeat(text.length / size) === text) {
      return size <= 3 || COMMON_PASSWORDS.has(text.slice(0, size));
    }
  }
  return false;
}

/** A human sentence for the problems (for the 400 body; never echoes the password). */
export function describePasswordProblems(problems: readonly PasswordProblem[], policy: PasswordPolicyOptions): string {
  const parts = problems.map((problem) => {
    switch (problem) {
      case 'too_short':
        return `it must be at least ${policy.minLength} characters long`;
      case 'too_long':
        return `it must be at most ${policy.maxBytes} bytes`;
      case 'common':
        return 'it is one of the most common passwords';
      case 'equals_email':
        return 'it must not be the email address';
    }
  });
  return `The password is not acceptable: ${parts.join('; ')}.`;
}
