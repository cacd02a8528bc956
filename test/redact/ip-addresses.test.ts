import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';
import { expectRedacted, expectUntouched } from './corpus.js';

describe('IP addresses', () => {
  it('redacts IPv4 addresses, with or without ports', () => {
    expectRedacted(
      [
        { text: 'client 203.0.113.7 connected', secret: '203.0.113.7' },
        { text: 'ip=10.0.0.1:8080', secret: '10.0.0.1' },
        { text: '"remote":"192.168.1.254"', secret: '192.168.1.254' },
        { text: 'from 255.255.255.255.', secret: '255.255.255.255' },
        { text: 'X-Forwarded-For: 198.51.100.1, 198.51.100.2', secret: '198.51.100.2' },
      ],
      'ipv4',
    );
    expect(redactText('a 127.0.0.1 b')).toBe('a [REDACTED:ipv4] b');
  });

  it('redacts IPv6 addresses in full, compressed, loopback and IPv4-mapped forms', () => {
    expectRedacted(
      [
        { text: 'peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok', secret: '8a2e:0370:7334' },
        { text: 'peer 2001:db8::8a2e:370:7334 ok', secret: '2001:db8::8a2e' },
        { text: 'listen [::1]:8080', secret: '::1' },
        { text: 'link fe80::1ff:fe23:4567:890a', secret: 'fe80::1ff' },
        { text: 'mapped ::ffff:192.0.2.128', secret: '192.0.2.128' },
      ],
      'ipv6',
    );
    expect(redactText('via fe80::1 now')).toBe('via [REDACTED:ipv6] now');
  });

  it('does not take version numbers, times, MAC addresses or code for addresses', () => {
    expectUntouched([
      'node v20.11.1',
      'version 1.2.3',
      'v1.2.3.4',
      'release 1.2.3.4.5',
      'build 10.0.19041.1',
      '999.1.1.1',
      '256.1.1.1',
      'at 12:30:45',
      '2026-11-23T10:12:32.123Z',
      'mac 00:1a:2b:3c:4d:5e',
      'std::vector<int>',
      'Foo::Bar::baz()',
      'ratio 3:2',
    ]);
  });
});
