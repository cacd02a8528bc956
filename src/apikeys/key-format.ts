import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The environments a key is issued for; part of the key so a test key is visibly a test key. */
export const KEY_ENVIRONMENTS = ['live', 'test'] as const;
export type KeyEnvironment = (typeof KEY_ENVIRONMENTS)[number];

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 43 base62 characters carry 256.03 bits; 44 leave a margin. */
export const RANDOM_LENGTH = 44;
export const CHECKSUM_LENGTH = 6;
/** Random characters stored in clear for display and lookup. */
export const PREFIX_LENGTH = 8;

/**
 * The pattern secret scanners can use (documented in docs/api-keys.md):
 * `wdn_(live|test)_[0-9A-Za-z]{50}` — 44 random characters followed by a 6-character
 * base62 CRC32 of everything before it.
 */
export const API_KEY_PATTERN = /^wdn_(live|test)_([0-9A-Za-z]{44})([0-9A-Za-z]{6})$/;

/** A key split into its parts; only produced for well-formed keys with a valid checksum. */
export interface ParsedApiKey {
  readonly environment: KeyEnvironment;
  /** The first PREFIX_LENGTH random characters (safe to store and show). */
  readonly prefix: string;
}

/** Source of random bytes, injectable for tests. */
export type RandomSource = (size: number) => Buffer;

/** Creates a new key `wdn_<env>_<44 random base62><6 checksum>`. */
export function generateApiKey(environment: KeyEnvironment, random: RandomSource = randomBytes): string {
  const body = `wdn_${environment}_${randomBase62(RANDOM_LENGTH, random)}`;
  return body + checksumOf(body);
}

/** Parses a key and checks its checksum, without any I/O; undefined when malformed. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  if (key.length !== 4 + 5 + RANDOM_LENGTH + CHECKSUM_LENGTH) return undefined;
  const match = API_KEY_PATTERN.exec(key);
  if (match === null) return undefined;
  const body = key.slice(0, key.length - CHECKSUM_LENGTH);
  // The checksum is not secret (anyone can compute it), so a plain comparison is fine.
  if (checksumOf(body) !== match[3]) return undefined;
  return { environment: match[1] as KeyEnvironment, prefix: (match[2] as string).slice(0, PREFIX_LENGTH) };
}

/** True when a string claims to be a Warden key (it may still be malformed). */
export function looksLikeWardenKey(value: string): boolean {
  return value.startsWith('wdn_');
}

/** The display form of a key: `wdn_live_AbCdEfGh…`. */
export function displayPrefix(environment: string, prefix: string): string {
  return environment === 'live' || environment === 'test' ? `wdn_${environment}_${prefix}` : prefix;
}

function checksumOf(body: string): string {
  return toBase62(crc32(body), CHECKSUM_LENGTH);
}

function toBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i += 1) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

// Rejection sampling keeps every character uniform: bytes >= 248 (4 * 62) are discarded.
function randomBase62(length: number, random: RandomSource): string {
  let out = '';
  while (out.length < length) {
    for (const byte of random(length * 2)) {
      if (byte >= 248) continue;
      out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}
