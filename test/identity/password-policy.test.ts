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

  it('refuses an over-long password as that alone, before any other check looks at it', () => {
    // The other checks normalise the whole input and run a suffix regex that is quadratic in a
    // run of punctuation: a megabyte line given to the CLI must not reach them. Only too_long
    // comes back, though this one would also be common and equal to the email.
    const huge = `jo${'!'.repeat(1_000_000)}`;
    expect(checkPassword(huge, { email: 'jo@example.test' })).toEqual(['too_long']);
    // The limit applies to the form that is hashed (NFKC) too: 'ﷺ' grows from 3 to 33 bytes.
    expect(checkPassword('ﷺ'.repeat(40), {})).toEqual(['too_long']);
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

  it('refuses the email with a trailing digit or punctuation, or in full-width characters', () => {
    for (const password of ['someone.long@example.test1', 'someone.long@example.test!', 'someone.longname2024', 'ｓｏｍｅｏｎｅ．ｌｏｎｇ＠ｅｘａｍｐｌｅ．ｔｅｓｔ']) {
      expect(checkPassword(password, { email: 'someone.long@example.test' }).concat(checkPassword(password, { email: 'someone.longname@example.test' })), password).toContain('equals_email');
    }
  });

  it('judges the form that is hashed (NFKC): full-width decoration does not hide a common password, ligatures count as their letters', () => {
    expect(checkPassword('ｐａｓｓｗｏｒｄ１２３４', {})).toContain('common');
    // 'ﬃ' (one code point) is 'ffi' once normalised: 11 characters typed, 13 hashed.
    expect(checkPassword('ﬃ-violet-ha', {})).toEqual([]);
    expect(checkPassword('ﬃ-violet', {})).toContain('too_short');
  });
});
