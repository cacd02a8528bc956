import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';

// An IPv6 address with an embedded IPv4 tail (NAT64 `64:ff9b::192.0.2.33`, `2001:db8::1.2.3.4`,
// not only `::ffff:`) is redacted whole as ipv6 in one pass, not as its IPv4 tail with the
// network prefix left in clear; the output is a fixed point.
describe('redaction: IPv6 addresses with an embedded IPv4 tail', () => {
  it('redacts a NAT64 client address whole, as ipv6, in one pass (0::11.2.3.4 too)', () => {
    expect(redactText('client 64:ff9b::192.0.2.33 connected')).toBe('client [REDACTED:ipv6] connected');
    expect(redactText('2001:db8::1.2.3.4')).toBe('[REDACTED:ipv6]');
    expect(redactText('0::11.2.3.4')).toBe('[REDACTED:ipv6]');
    expect(redactText('1:2:3:4:5:6:10.0.0.1')).toBe('[REDACTED:ipv6]');
    expect(redactText('::1:2:10.0.0.1')).toBe('[REDACTED:ipv6]');
  });

  it('is a fixed point on them', () => {
    for (const text of ['0::11.2.3.4', '64:ff9b::192.0.2.33', '2001:db8::1.2.3.4']) {
      const once = redactText(text);
      expect(redactText(once)).toBe(once);
    }
  });
});
