import { isIPv4, isIPv6 } from 'node:net';

/** An address family that a WARDEN_TRUST_PROXY list can trust in full. */
export type AddressFamily = 'IPv4' | 'IPv6';

interface Range {
  readonly family: AddressFamily;
  readonly first: bigint;
  readonly last: bigint;
}

const BITS: Record<AddressFamily, bigint> = { IPv4: 32n, IPv6: 128n };

/**
 * The address families whose every address the WARDEN_TRUST_PROXY entries trust, e.g. IPv4
 * for `0.0.0.0/0` or for `0.0.0.0/1, 128.0.0.0/1`. Trusting every address means trusting every
 * hop, which is what `true` does: any client can then choose its own IP. Entries follow the
 * matching of Fastify's proxy-addr: an IPv4-mapped IPv6 subnet (`::ffff:0:0/96`) covers IPv4
 * peers. Names (`loopback`…) and entries that are not addresses cover nothing here.
 */
export function familiesTrustedEntirely(entries: readonly string[]): AddressFamily[] {
  const ranges = entries.map(rangeOf).filter((r): r is Range => r !== undefined);
  return (['IPv4', 'IPv6'] as const).filter((family) =>
    coversAll(
      ranges.filter((r) => r.family === family),
      BITS[family],
    ),
  );
}

/**
 * The most hops production trusts. Real chains are short (CDN, load balancer, ingress); a
 * count above the real one trusts X-Forwarded-For entries the client wrote, so a large count
 * (the parser allows 64) is close to `true`.
 */
export const MAX_TRUSTED_HOPS = 5;

/**
 * The shortest prefix production accepts for a public range: wider ones trust a sizeable part
 * of the internet to name its own client IP. The limit is one bit wider than the widest
 * blocks a large CDN publishes for its proxies (Cloudflare: 104.16.0.0/13, 2a06:98c0::/29), so
 * trusting a CDN's published list still works while `0.0.0.0/1` or `8.0.0.0/8` do not.
 */
export const MIN_PUBLIC_PREFIX: Readonly<Record<AddressFamily, number>> = { IPv4: 12, IPv6: 28 };

/**
 * Blocks that no client on the internet connects from: private (RFC 1918), shared/CGNAT
 * (RFC 6598), loopback, link-local, "this network", benchmarking, multicast and reserved
 * space, IPv6 unique-local, link-local and multicast. A range inside one of them may be as
 * wide as the operator likes (10.0.0.0/8 is a common proxy subnet).
 */
const NON_PUBLIC: readonly Range[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/3',
  '::/127',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
].map((cidr) => {
  const range = rangeOf(cidr);
  if (range === undefined) throw new Error(`bad built-in range ${cidr}`);
  return range;
});

/**
 * The WARDEN_TRUST_PROXY entries, as written, that trust a public range wider than
 * MIN_PUBLIC_PREFIX allows (`0.0.0.0/1`, `8.0.0.0/8`, `2000::/3`), leaving out the families in
 * `except`. Names (`loopback`…) and ranges inside non-public blocks are never reported.
 */
export function widePublicEntries(entries: readonly string[], except: readonly AddressFamily[] = []): string[] {
  return entries.filter((entry) => {
    const range = rangeOf(entry);
    if (range === undefined || except.includes(range.family)) return false;
    if (NON_PUBLIC.some((block) => block.family === range.family && block.first <= range.first && range.last <= block.last)) {
      return false;
    }
    const widest = 1n << (BITS[range.family] - BigInt(MIN_PUBLIC_PREFIX[range.family]));
    return range.last - range.first + 1n > widest;
  });
}

function rangeOf(entry: string): Range | undefined {
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
  let family: AddressFamily;
  let value: bigint;
  if (isIPv4(address)) [family, value] = ['IPv4', ipv4Value(address)];
  else if (isIPv6(address)) [family, value] = ['IPv6', ipv6Value(address)];
  else return undefined;
  let prefix = prefixText === undefined ? Number(BITS[family]) : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? '0') || prefix > Number(BITS[family])) return undefined;
  // proxy-addr checks IPv4 peers against an IPv4-mapped subnet of /96 or longer (on the
  // address's last 32 bits), so such an entry covers IPv4, not IPv6.
  if (family === 'IPv6' && value >> 32n === 0xffffn && prefix >= 96) {
    [family, value, prefix] = ['IPv4', value & 0xffff_ffffn, prefix - 96];
  }
  const hostBits = BITS[family] - BigInt(prefix);
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first + (1n << hostBits) - 1n };
}

function coversAll(ranges: readonly Range[], bits: bigint): boolean {
  let covered = -1n; // the highest address reached so far, from 0 without gaps
  for (const range of [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))) {
    if (range.first > covered + 1n) return false;
    if (range.last > covered) covered = range.last;
  }
  return covered === (1n << bits) - 1n;
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** The 128-bit value of a valid IPv6 address (`::` and a dotted IPv4 tail expanded). */
function ipv6Value(address: string): bigint {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    const v4 = ipv4Value(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [
    ...headGroups,
    ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
    ...tailGroups,
  ];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}
