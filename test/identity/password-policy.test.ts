import { describe, expect, it } from 'vitest';
import { checkPassword, isCommonPassword } from '../../src/identity/password-policy.js';

describe('password policy', () => {
  it('accepts a long, uncommon password', () => {
    expect(checkPassword('violet-harbour-quietly-92', { email: 'a@example.test' })).toEqual([]);
  });

  it('refuses short passwords by characters (not bytes) with a configurable minimum', () => {
    expect(checkPassword('short-pass1', {})).toContain('too_short');
    expect(checkPassword('ééééééééééé', {})).toContain('too_short'); // 11 characters, 22 bytes
    expect(checkPassword('short-pass1', {}, { minLength: 8, maxBytes: 1024 })).toEqual([]);
  });

  it('refuses passwords over 1024 bytes', () => {
    expect(checkPassword('é'.repeat(513), {})).toContain('too_long');
  });

  it('refuses common passwords, with decoration and repetition', () => {
    for (const candidate of ['password1234', 'Password2026!', 'qwertyuiop123', 'iloveyou!!!!!!', 'abcabcabcabc', 'correcthorsebatterystaple', 'monkeymonkeymonkey']) {
      expect(isCommonPassword(candidate), candidate).toBe(true);
      expect(checkPassword(candidate, {}), candidate).toContain('common');
    }
    expect(isCommonPassword('violet-harbour-quietly-92')).toBe(false);
  });

  it('refuses the email address (or its local part) as the password', () => {
    expect(checkPassword('Someone.Long@Example.test', { email: 'someone.long@example.test' })).toContain('equals_email');
    expect(checkPassword('someone.longname', { email: 'someone.longname@example.test' })).toContain('equals_email');
  });
});
