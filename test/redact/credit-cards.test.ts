import { describe, expect, it } from 'vitest';
import { isCardNumber, passesLuhn, redactText, redactValue } from '../../src/redact/index.js';
import { expectRedacted, expectUntouched } from './corpus.js';

describe('payment card numbers (Luhn-checked)', () => {
  it('redacts valid card numbers, plain or grouped by spaces or dashes', () => {
    expectRedacted(
      [
        { text: 'card 4111111111111111 charged', secret: '4111111111111111' },
        { text: 'card 4111 1111 1111 1111 charged', secret: '4111 1111 1111 1111' },
        { text: 'mc 5555-5555-5555-4444', secret: '5555-5555-5555-4444' },
        { text: 'amex 378282246310005', secret: '378282246310005' },
        { text: 'discover "6011111111111117"', secret: '6011111111111117' },
      ],
      'credit_card',
    );
  });

  it('redacts a card number stored as a JSON number', () => {
    expect(redactValue({ pan: 4111111111111111, amount: 1999 })).toEqual({
      pan: '[REDACTED:credit_card]',
      amount: 1999,
    });
  });

  it('leaves order ids, timestamps and other long numbers that are not cards', () => {
    expectUntouched([
      'order 4111111111111112', // fails Luhn
      'order 1234567890123456',
      'ts 1700000000000', // epoch ms: passes Luhn? no matter, issuer prefix 1 is not a card
      'id 7992739871300', // Luhn-valid but prefix 7
      'phone 0000000000000',
      'invoice 4444444444444444', // one repeated digit
      'sku ABC-4111111111111111', // part of an identifier
      'ref 4111111111111111.5',
    ]);
  });

  it('checks Luhn and issuer prefixes', () => {
    expect(passesLuhn('79927398713')).toBe(false); // too short for a card
    expect(passesLuhn('4111111111111111')).toBe(true);
    expect(passesLuhn('4111111111111121')).toBe(false);
    expect(isCardNumber('1700000000006')).toBe(false);
    expect(redactText('x 4012888888881881 y')).toBe('x [REDACTED:credit_card] y');
  });
});
