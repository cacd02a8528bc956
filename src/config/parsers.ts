import { isIP } from 'node:net';
import { trustedHostEntryProblem } from '../http/request-guards.js';

/** A parser turns a raw string into a typed value or throws a one-line reason. */
export type Parser<T> = (raw: string) => T;

export class ParseProblem extends Error {}

/** Any non-empty string, trimmed. */
export const text: Parser<string> = (raw) => {
  const value = raw.trim();
  if (value === '') throw new ParseProblem('must not be empty');
  return value;
};

/** An integer within [min, max]. */
export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = raw.trim();
    if (!/^-?\d+$/.test(value)) throw new ParseProblem(`must be a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new ParseProblem(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

/** true/false, 1/0, yes/no, on/off. */
export const boolean: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ParseProblem(`must be true or false, got "${raw.trim()}"`);
};

/** One of a fixed set of values. */
export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim().toLowerCase();
    const found = values.find((v) => v === value);
    if (found === undefined) throw new ParseProblem(`must be one of ${values.join(', ')}, got "${raw.trim()}"`);
    return found;
  };
}

/** A comma-separated list; empty entries dropped. */
export const list: Parser<readonly string[]> = (raw) =>
  Object.freeze(
    raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );

/** A list of trusted Host values: host, host:port or *.domain each (anything else never matches). */
export const hostList: Parser<readonly string[]> = (raw) => {
  const entries = list(raw);
  for (const entry of entries) {
    const problem = trustedHostEntryProblem(entry);
    if (problem !== undefined) throw new ParseProblem(`has ${problem}: it would never match a Host header, so every request would be refused`);
  }
  return entries;
};

/** An absolute URL whose scheme is one of the given ones. */
export function url(schemes: readonly string[]): Parser<string> {
  return (raw) => {
    const value = raw.trim();
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ParseProblem('is not a valid URL');
    }
    const scheme = parsed.protocol.replace(/:$/, '');
    if (!schemes.includes(scheme)) {
      throw new ParseProblem(`must use one of the schemes ${schemes.join(', ')}, got "${scheme}"`);
    }
    return value;
  };
}

/** A database URL: `sqlite:<path>` / `sqlite::memory:` or `postgres(ql)://…`. */
export const databaseUrl: Parser<string> = (raw) => {
  const value = raw.trim();
  if (value.startsWith('sqlite:')) {
    if (value.slice('sqlite:'.length) === '') throw new ParseProblem('sqlite: URL needs a file path');
    return value;
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      const parsed = new URL(value);
      if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw new Error('no host');
    } catch {
      throw new ParseProblem('is not a valid postgres:// URL');
    }
    return value;
  }
  throw new ParseProblem('must start with sqlite: or postgres://');
};

/** Origins for CORS: `*` or a list of exact `scheme://host[:port]` origins. */
export const origins: Parser<readonly string[]> = (raw) => {
  const entries = list(raw);
  for (const entry of entries) {
    if (entry === '*') continue;
    // `https://*.example.com` parses as a URL whose host is literally `*.example.com`: it would
    // never match a browser's Origin, so the operator would believe a rule that does nothing.
    if (entry.includes('*')) throw new ParseProblem(`"${entry}" holds a wildcard: origins are matched exactly, so list each one (only a lone * allows every origin)`);
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      throw new ParseProblem(`"${entry}" is not an origin like https://app.example.com`);
    }
    if (parsed.origin !== entry.replace(/\/$/, '')) {
      throw new ParseProblem(`"${entry}" must be an exact origin (scheme://host[:port], no path)`);
    }
  }
  return Object.freeze(entries.map((e) => e.replace(/\/$/, '')));
};

/**
 * Trust-proxy setting: `false`, `true` (trust every hop: only behind a proxy you control),
 * a hop count, or a list of proxy IPs/CIDRs.
 */
export const trustProxy: Parser<boolean | number | readonly string[]> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d+$/.test(value)) return integer(0, 64)(value);
  const entries = list(raw);
  for (const entry of entries) {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const [address = '', prefix, ...rest] = entry.split('/');
    const version = isIP(address);
    if (version === 0 || rest.length > 0 || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) {
      throw new ParseProblem(`"${entry}" is not true, false, a hop count, an IP, a CIDR or loopback/linklocal/uniquelocal`);
    }
    const bits = version === 4 ? 32 : 128;
    if (prefix !== undefined && Number(prefix) > bits) {
      throw new ParseProblem(`"${entry}": an IPv${version} prefix length is 0 to ${bits}`);
    }
  }
  return entries;
};
