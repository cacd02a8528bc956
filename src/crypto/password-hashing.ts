import { pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/** argon2id cost parameters. OWASP's floor is m=19456 KiB, t=2, p=1. */
export interface Argon2Parameters {
  /** Memory in KiB. @default 19456 */
  readonly memoryKib: number;
  /** Passes. @default 2 */
  readonly iterations: number;
  /** Lanes. @default 1 */
  readonly parallelism: number;
}

export const OWASP_ARGON2_PARAMETERS: Argon2Parameters = Object.freeze({ memoryKib: 19_456, iterations: 2, parallelism: 1 });

// @node-rs/argon2 exports Algorithm as an ambient const enum, which isolatedModules cannot
// inline; 2 is its documented value for Argon2id.
const ARGON2ID = 2 as const;

/** Hashes a password with argon2id on the libuv pool (never on the event loop); returns the PHC string. */
export async function hashPassword(password: string, parameters: Argon2Parameters = OWASP_ARGON2_PARAMETERS): Promise<string> {
  return argon2Hash(password, {
    algorithm: ARGON2ID as never,
    memoryCost: parameters.memoryKib,
    timeCost: parameters.iterations,
    parallelism: parameters.parallelism,
  });
}

/** The encodings `verifyPassword` understands. */
export type PasswordHashScheme = 'argon2id' | 'argon2' | 'bcrypt' | 'pbkdf2-sha256' | 'scrypt';

/** Which scheme produced a stored hash, or undefined when the encoding is not one we accept. */
export function passwordHashScheme(stored: string): PasswordHashScheme | undefined {
  if (stored.startsWith('$argon2id$')) return 'argon2id';
  if (stored.startsWith('$argon2i$') || stored.startsWith('$argon2d$')) return 'argon2';
  if (/^\$2[aby]\$\d\d\$/.test(stored)) return 'bcrypt';
  if (stored.startsWith('pbkdf2_sha256$') || stored.startsWith('$pbkdf2-sha256$') || stored.startsWith('pbkdf2:sha256:')) return 'pbkdf2-sha256';
  if (stored.startsWith('$scrypt$') || stored.startsWith('scrypt:')) return 'scrypt';
  return undefined;
}

/**
 * Checks a password against a stored hash in any accepted encoding: argon2id/argon2i PHC,
 * bcrypt ($2a/$2b/$2y), PBKDF2-SHA256 (Django `pbkdf2_sha256$…`, passlib `$pbkdf2-sha256$…`,
 * Werkzeug `pbkdf2:sha256:…`) and scrypt (passlib `$scrypt$…`, Werkzeug `scrypt:…`).
 * A malformed or unknown encoding verifies as false (never throws on bad data).
 */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    const check = passwordCheck(stored);
    return check !== undefined && (await check(password));
  } catch {
    return false;
  }
}

/**
 * Whether a stored hash can ever verify: a known encoding, well formed, with cost parameters
 * within the bounds. An import refuses the others, which would lock their user out unnoticed.
 */
export function passwordHashVerifiable(stored: string): boolean {
  try {
    return passwordCheck(stored) !== undefined;
  } catch {
    return false;
  }
}

/** The check of a password against `stored`, or undefined when `stored` can never verify. */
function passwordCheck(stored: string): ((password: string) => Promise<boolean>) | undefined {
  switch (passwordHashScheme(stored)) {
    case 'argon2id':
    case 'argon2':
      return argon2WithinBounds(stored) ? (password) => argon2Verify(stored, password) : undefined;
    case 'bcrypt':
      return BCRYPT_HASH.test(stored) && Number(stored.slice(4, 6)) <= MAX_BCRYPT_COST ? (password) => bcryptVerify(password, stored) : undefined;
    case 'pbkdf2-sha256':
      return pbkdf2Check(stored);
    case 'scrypt':
      return scryptCheck(stored);
    default:
      return undefined;
  }
}

/** True when a stored hash is not argon2id with at least the given parameters (re-hash on next login). */
export function needsRehash(stored: string, parameters: Argon2Parameters = OWASP_ARGON2_PARAMETERS): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  if (match === null) return true;
  return Number(match[1]) < parameters.memoryKib || Number(match[2]) < parameters.iterations || Number(match[3]) !== parameters.parallelism;
}

// Upper bounds on legacy parameters read from stored hashes, so an imported row cannot make
// one login burn minutes of CPU or gigabytes of memory.
// PBKDF2 costs iterations × ceil(digest length / 32) HMAC-SHA256 blocks: the bound is on that
// product, or a long stored digest multiplies it. Real formats store 32 bytes.
const MAX_PBKDF2_ITERATIONS = 5_000_000;
const MAX_SCRYPT_COST = 2 ** 20;
// scrypt needs 128·N·r bytes per lane and does p lanes one after another: 128·N·r·p bounds its
// time as 128·N·r bounds its memory. 1 GiB covers every library default (Werkzeug 32 MiB, passlib 16 MiB).
const MAX_SCRYPT_MEMORY = 2 ** 30;
// Stored digests are 32 bytes in every supported format; 64 leaves room and bounds the output work.
const MAX_LEGACY_DIGEST_BYTES = 64;
// argon2 parameters are read from the stored PHC string too: m (KiB) up to 1 GiB, t up to 16 passes.
// The settings (WARDEN_ARGON2_*) accept no more, or a configured cost would make hashes that never verify.
/** Largest argon2 memory cost (KiB) a stored hash may carry, and the setting may ask for. */
export const MAX_ARGON2_MEMORY_KIB = 2 ** 20;
/** Largest argon2 time cost a stored hash may carry, and the setting may ask for. */
export const MAX_ARGON2_ITERATIONS = 16;
/** Largest argon2 parallelism a stored hash may carry, and the setting may ask for. */
export const MAX_ARGON2_PARALLELISM = 16;
// bcrypt's cost is log2 of the rounds: 16 takes seconds, 31 would take days.
const MAX_BCRYPT_COST = 16;
// A whole bcrypt string: cost, then 22 characters of salt and 31 of hash in bcrypt's base64.
const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

function argon2WithinBounds(stored: string): boolean {
  // The whole PHC string: parameters, then a salt and a hash in unpadded base64.
  const match = /^\$argon2(?:id|i|d)\$(?:v=\d+\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/.exec(stored);
  if (match === null) return false;
  return Number(match[1]) <= MAX_ARGON2_MEMORY_KIB && Number(match[2]) <= MAX_ARGON2_ITERATIONS && Number(match[3]) <= MAX_ARGON2_PARALLELISM;
}

function pbkdf2Check(stored: string): ((password: string) => Promise<boolean>) | undefined {
  let iterations: number;
  let salt: Buffer;
  let expected: Buffer;
  if (stored.startsWith('pbkdf2_sha256$')) {
    // Django: pbkdf2_sha256$<iterations>$<salt text>$<base64 digest>
    const [, iter, saltText, digest] = stored.split('$');
    iterations = Number(iter);
    salt = Buffer.from(saltText ?? '', 'utf8');
    expected = Buffer.from(digest ?? '', 'base64');
  } else if (stored.startsWith('$pbkdf2-sha256$')) {
    // passlib: $pbkdf2-sha256$<iterations>$<ab64 salt>$<ab64 digest> (ab64 = base64 with '.' for '+')
    const [, , iter, saltText, digest] = stored.split('$');
    iterations = Number(iter);
    salt = Buffer.from((saltText ?? '').replaceAll('.', '+'), 'base64');
    expected = Buffer.from((digest ?? '').replaceAll('.', '+'), 'base64');
  } else {
    // Werkzeug: pbkdf2:sha256:<iterations>$<salt text>$<hex digest>
    const [method, saltText, digest] = stored.split('$');
    iterations = Number((method ?? '').split(':')[2] ?? '260000');
    salt = Buffer.from(saltText ?? '', 'utf8');
    expected = Buffer.from(digest ?? '', 'hex');
  }
  if (!Number.isInteger(iterations) || iterations < 1 || expected.length < 16 || expected.length > MAX_LEGACY_DIGEST_BYTES) return undefined;
  if (iterations * Math.ceil(expected.length / 32) > MAX_PBKDF2_ITERATIONS) return undefined;
  return async (password) => timingSafeEqual(await pbkdf2Async(password, salt, iterations, expected.length, 'sha256'), expected);
}

function scryptCheck(stored: string): ((password: string) => Promise<boolean>) | undefined {
  let cost: number;
  let blockSize: number;
  let parallelism: number;
  let salt: Buffer;
  let expected: Buffer;
  if (stored.startsWith('$scrypt$')) {
    // passlib: $scrypt$ln=<log2 N>,r=<r>,p=<p>$<b64 salt>$<b64 digest>
    const [, , params, saltText, digest] = stored.split('$');
    const fields = Object.fromEntries((params ?? '').split(',').map((kv) => kv.split('=') as [string, string]));
    cost = 2 ** Number(fields.ln);
    blockSize = Number(fields.r);
    parallelism = Number(fields.p);
    salt = Buffer.from(saltText ?? '', 'base64');
    expected = Buffer.from(digest ?? '', 'base64');
  } else {
    // Werkzeug: scrypt:<N>:<r>:<p>$<salt text>$<hex digest>
    const [method, saltText, digest] = stored.split('$');
    const [, n, r, p] = (method ?? '').split(':');
    cost = Number(n ?? 32768);
    blockSize = Number(r ?? 8);
    parallelism = Number(p ?? 1);
    salt = Buffer.from(saltText ?? '', 'utf8');
    expected = Buffer.from(digest ?? '', 'hex');
  }
  const valid = [cost, blockSize, parallelism].every((v) => Number.isInteger(v) && v >= 1);
  if (!valid || cost > MAX_SCRYPT_COST || blockSize > 32 || parallelism > 16 || 128 * cost * blockSize * parallelism > MAX_SCRYPT_MEMORY) return undefined;
  if (expected.length < 16 || expected.length > MAX_LEGACY_DIGEST_BYTES) return undefined;
  const options = { N: cost, r: blockSize, p: parallelism, maxmem: 256 * cost * blockSize * parallelism };
  return async (password) => timingSafeEqual(await scryptAsync(password, salt, expected.length, options), expected);
}

/** A random password for hashing into a dummy (unknown-user logins verify against it). */
export function randomPasswordForDummyHash(): string {
  return randomBytes(32).toString('base64url');
}
