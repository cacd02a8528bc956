/** True when a string of 13–19 digits passes the Luhn checksum (payment card numbers). */
export function passesLuhn(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    const d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    let v = double ? d * 2 : d;
    if (v > 9) v -= 9;
    sum += v;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * True when the digits look like a payment card: 13–19 digits, an issuer prefix that card
 * networks use (2–6: Mastercard, Amex, Visa, Discover, JCB, UnionPay, Diners) and a valid Luhn
 * checksum. The prefix check keeps epoch-millisecond timestamps (leading 1) out.
 */
export function isCardNumber(digits: string): boolean {
  const first = digits.charCodeAt(0) - 48;
  if (first < 2 || first > 6) return false;
  // Runs of one repeated digit (0000…, 4444…) are padding or test filler, not cards.
  if (/^(\d)\1*$/.test(digits)) return false;
  return passesLuhn(digits);
}
