/**
 * The common-password check judges the password without the whitespace around it, and also
 * without trailing punctuation or a trailing run of digits and punctuation, each as a list
 * entry and as a short unit repeated: decoration must not hide a listed password.
 */
import { describe, expect, it } from 'vitest';
import { checkPassword } from '../../src/identity/password-policy.js';

describe('the common-password check cannot be dodged with whitespace or decoration', () => {
  it.each([
    [' password1234', 'leading space before a listed password'],
    ['\tqwertyuiop12', 'leading tab'],
    [' correcthorsebatterystaple', 'leading space before an exact list entry'],
    ['123456789012 ', 'trailing space after an all-digit entry'],
    ['111111111111 ', 'trailing space after a repeated digit'],
    ['12345678910 .', 'trailing punctuation after an all-digit entry'],
    ['abcabcabcabc!', 'trailing punctuation after a repeated short unit'],
    ['zzzzzzzzzzz1', 'a repeated letter with a digit appended'],
    ['trustno1trustno1 ', 'trailing space after an entry ending in a digit'],
  ])('%j (%s) is refused as common', (password) => {
    expect(checkPassword(password, {})).toContain('common');
  });

  it.each([
    ['aa8301749265', 'a short stem before a long run of digits'],
    ['Tr0ub4dor&3 staple horse', 'a passphrase'],
  ])('%j (%s) is not taken for common', (password) => {
    expect(checkPassword(password, {})).not.toContain('common');
  });
});
