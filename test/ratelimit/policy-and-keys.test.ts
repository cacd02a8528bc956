import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { SETTING_DEFINITIONS } from '../../src/config/setting-definitions.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { productionProblems } from '../../src/config/production-checks.js';
import { clientAddressKey } from '../../src/ratelimit/client-key.js';
import { parsePolicyList, resolvePolicy } from '../../src/ratelimit/policy.js';
import { policyListSetting } from '../../src/ratelimit/policy-setting.js';
import { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds } from '../../src/ratelimit/rate-limit-headers.js';

describe('policy lists', () => {
  it('parses several limits with units and an optional block', () => {
    expect(parsePolicyList('100/60s')).toEqual([{ limit: 100, windowMs: 60_000, blockDurationMs: 0 }]);
    expect(parsePolicyList(' 10/1m , 1000/1h block 15m,5/500ms ')).toEqual([
      { limit: 10, windowMs: 60_000, blockDurationMs: 0 },
      { limit: 1000, windowMs: 3_600_000, blockDurationMs: 900_000 },
      { limit: 5, windowMs: 500, blockDurationMs: 0 },
    ]);
    expect(parsePolicyList('off')).toEqual([]);
  });

  it('rejects malformed items, naming them', () => {
    expect(() => parsePolicyList('100')).toThrow('"100"');
    expect(() => parsePolicyList('100/60x')).toThrow(TypeError);
    expect(() => parsePolicyList('0/60s')).toThrow(TypeError);
  });

  it('rejects numbers beyond the safe integers when the setting is read, not when the app starts', () => {
    expect(() => parsePolicyList('99999999999999999999/60s')).toThrow('"99999999999999999999/60s"');
    expect(() => parsePolicyList('10/9999999999999d')).toThrow(TypeError);
    expect(() => parsePolicyList('10/1m block 9999999999999999h')).toThrow(TypeError);
    expect(() => policyListSetting('10/1m, 99999999999999999999/1s')).toThrow(/too large/);
  });

  it('validates policies: misuse throws', () => {
    expect(resolvePolicy({ name: 'p', limit: 1, windowMs: 1 })).toEqual({ name: 'p', algorithm: 'sliding-window', limit: 1, windowMs: 1, blockDurationMs: 0 });
    expect(() => resolvePolicy({ name: '', limit: 1, windowMs: 1 })).toThrow(TypeError);
    expect(() => resolvePolicy({ name: 'p', limit: 0, windowMs: 1 })).toThrow(TypeError);
    expect(() => resolvePolicy({ name: 'p', limit: 1.5, windowMs: 1 })).toThrow(TypeError);
    expect(() => resolvePolicy({ name: 'p', limit: 1, windowMs: 1, blockDurationMs: -1 })).toThrow(TypeError);
    expect(() => resolvePolicy({ name: 'p', algorithm: 'sliding-log', limit: 5000, windowMs: 1 })).toThrow(/sliding log/);
  });
});

describe('client address keys', () => {
  it('keeps IPv4, groups IPv6 by /64 and maps IPv4-mapped IPv6 to IPv4', () => {
    expect(clientAddressKey('203.0.113.9')).toBe('ip:203.0.113.9');
    expect(clientAddressKey('2001:db8:a:b:1:2:3:4')).toBe('ip6:2001:db8:a:b::/64');
    expect(clientAddressKey('2001:DB8:a:b::ffff')).toBe('ip6:2001:db8:a:b::/64');
    expect(clientAddressKey('2001:db8::1')).toBe('ip6:2001:db8:0:0::/64');
    expect(clientAddressKey('::1')).toBe('ip6:0:0:0:0::/64');
    expect(clientAddressKey('fe80::1%eth0')).toBe('ip6:fe80:0:0:0::/64');
    expect(clientAddressKey('::ffff:198.51.100.4')).toBe('ip:198.51.100.4');
    expect(clientAddressKey('64:ff9b::198.51.100.4')).toBe('ip6:64:ff9b:0:0::/64');
  });

  it('ignores a source port that a proxy appended to the forwarded address', () => {
    expect(clientAddressKey('203.0.113.9:51234')).toBe('ip:203.0.113.9');
    expect(clientAddressKey('203.0.113.9:443')).toBe('ip:203.0.113.9');
    expect(clientAddressKey('[2001:db8:a:b::1]:51234')).toBe('ip6:2001:db8:a:b::/64');
    expect(clientAddressKey('[2001:db8:a:b::1]')).toBe('ip6:2001:db8:a:b::/64');
    expect(clientAddressKey('[::ffff:198.51.100.4]:80')).toBe('ip:198.51.100.4');
  });

  it('gives the same key for an address however many others were seen in between (bounded memo)', () => {
    const first = clientAddressKey('2001:db8:1:2:3:4:5:6');
    for (let i = 0; i < 10_000; i++) expect(clientAddressKey(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)).toBe(`ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(clientAddressKey('2001:db8:1:2:3:4:5:6')).toBe(first);
    expect(first).toBe('ip6:2001:db8:1:2::/64');
  });
});

describe('IETF RateLimit headers', () => {
  const policies = [
    { name: 'default-60s', limit: 100, windowMs: 60_000 },
    { name: 'day "x"', limit: 1000, windowMs: 86_400_000 },
  ];
  it('formats RateLimit-Policy and RateLimit as Structured Fields lists', () => {
    expect(rateLimitPolicyHeader(policies)).toBe('"default-60s";q=100;w=60, "day \\"x\\"";q=1000;w=86400');
    expect(
      rateLimitHeader(policies, [
        { allowed: true, limit: 100, remaining: 42, reset_ms: 17_200, retry_after_ms: 0 },
        { allowed: false, limit: 1000, remaining: 0, reset_ms: 1000, retry_after_ms: 3_000 },
      ]),
    ).toBe('"default-60s";r=42;t=18, "day \\"x\\"";r=0;t=3');
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });
});

describe('rate-limit settings', () => {
  const load = (env: Record<string, string>) =>
    loadSettings({ env: { WARDEN_SECRET_KEY: TEST_SECRET_KEY, ...env }, envFile: false, generateDevSecrets: false, cwd: '/tmp' }).settings;

  it('defaults production to fail-closed without the memory fallback, development to fail-open', () => {
    expect(SETTING_DEFINITIONS.rateLimitFailurePolicy.fallback('production')).toBe('fail-closed');
    expect(SETTING_DEFINITIONS.rateLimitAllowMemoryFallback.fallback('production')).toBe(false);
    const settings = load({ WARDEN_ENV: 'production' });
    expect(settings.rateLimitFailurePolicy).toBe('fail-closed');
    const dev = load({ WARDEN_ENV: 'development' });
    expect(dev.rateLimitFailurePolicy).toBe('fail-open');
    expect(dev.rateLimitAllowMemoryFallback).toBe(true);
    expect(parsePolicyList(dev.rateLimitDefault)).toEqual([{ limit: 300, windowMs: 60_000, blockDurationMs: 0 }]);
    expect(() => load({ WARDEN_RATELIMIT_DEFAULT: '100 per minute' })).toThrow(/WARDEN_RATELIMIT_DEFAULT/);
  });

  it('refuses a blank limit instead of reading it as "no limit" (off is spelt out, and warned about in production)', () => {
    for (const name of ['WARDEN_RATELIMIT_DEFAULT', 'WARDEN_RATELIMIT_AUTH']) {
      expect(() => load({ WARDEN_ENV: 'production', [name]: '   ' })).toThrow(new RegExp(`${name}.*must not be empty: give limits such as 100/60s, or off`));
    }
    expect(parsePolicyList(load({ WARDEN_RATELIMIT_DEFAULT: 'off' }).rateLimitDefault)).toEqual([]);
  });

  it('refuses fail-open in production unless the in-memory fallback is explicitly allowed', () => {
    expect(() => load({ WARDEN_ENV: 'production', WARDEN_RATELIMIT_FAILURE_POLICY: 'fail-open' })).toThrow(/WARDEN_RATELIMIT_ALLOW_MEMORY_FALLBACK/);
    const allowed = load({ WARDEN_ENV: 'production', WARDEN_RATELIMIT_FAILURE_POLICY: 'fail-open', WARDEN_RATELIMIT_ALLOW_MEMORY_FALLBACK: 'true' });
    expect(productionProblems(allowed).some((p) => p.includes('RATELIMIT'))).toBe(false);
  });
});
