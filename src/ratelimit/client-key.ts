import { isIPv4, isIPv6 } from 'node:net';
import { boundedMemo } from '../cache/bounded-memo.js';

/**
 * The rate-limit key of a client address. IPv4 addresses are used as they are; IPv6 addresses
 * are grouped by their /64 prefix, because one subscriber usually holds a whole /64 and could
 * otherwise rotate through 2^64 addresses to evade a per-address limit. IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`) counts as the IPv4 address.
 */
export function clientAddressKey(ip: string | undefined): string {
  // No address: a unix-socket listener, or a socket closed before the hook ran. Such callers
  // share one budget rather than escaping the limit (or failing every request).
  return ip === undefined || ip === '' ? UNKNOWN_ADDRESS_KEY : memoisedAddressKey(ip);
}

/** The key of every caller whose address is unknown. */
export const UNKNOWN_ADDRESS_KEY = 'ip:unknown';

const memoisedAddressKey = boundedMemo(addressKey, 4096);

// Some trusted proxies (e.g. Azure Application Gateway) forward `1.2.3.4:51234` or
// `[2001:db8::1]:443`: the client's source port must not become part of its key, or every new
// connection would get a fresh budget.
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;

function addressKey(ip: string): string {
  const address = BRACKETED.exec(ip)?.[1] ?? IPV4_WITH_PORT.exec(ip)?.[1] ?? ip;
  if (isIPv4(address)) return `ip:${address}`;
  const zoneless = address.split('%')[0] ?? address;
  if (!isIPv6(zoneless)) return `ip:${address}`;
  const groups = expandIPv6(zoneless);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = [groups[6], groups[7]];
    return `ip:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `ip6:${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (handles `::` and a dotted IPv4 tail). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array.from({ length: 8 - left.length - right.length }, () => 0), ...right];
}
