// No imports of Warden's modules or of pg: the settings check this module's warning too (see
// src/config/production-checks.ts), and loading the settings must not load the driver.

/** The sslmode values of libpq, weakest first. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/**
 * The TLS settings of a PostgreSQL URL cannot be used (code postgres_tls_settings): an sslmode
 * libpq does not know, or a combination libpq refuses. The message names the parameter, never
 * a value other than the sslmode's.
 */
export class PostgresTlsSettingsError extends Error {
  readonly code = 'postgres_tls_settings';

  constructor(message: string) {
    super(message);
    this.name = 'PostgresTlsSettingsError';
  }
}

/** What the TLS settings of a PostgreSQL URL amount to, with libpq's meaning of sslmode. */
export interface PostgresTls {
  /** The sslmode in effect: the URL's, else PGSSLMODE's (libpq's order); undefined when neither sets one. */
  readonly sslmode: SslMode | undefined;
  /** Where the sslmode came from (sslrootcert=system implies verify-full in the URL). */
  readonly sslmodeFrom: 'url' | 'PGSSLMODE' | undefined;
  /** What the client checks of the server: nothing, the certificate chain, or the chain and the host name. */
  readonly verifies: 'nothing' | 'chain' | 'chain-and-host';
  /** Whether every connection is encrypted (false: possibly or certainly in clear). */
  readonly alwaysEncrypted: boolean;
  /** The URL to give pg, which makes pg apply exactly the semantics above (see resolvePostgresTls). */
  readonly connectionString: string;
}

/** Files whose mere presence makes pg use TLS, verifying fully, when no sslmode is given. */
const PG_TLS_FILES = new Set(['sslcert', 'sslkey', 'sslrootcert']);

/**
 * Reads the sslmode of a PostgreSQL URL (else `environmentSslMode`, i.e. PGSSLMODE) with
 * libpq's meaning and returns the connection string that makes pg 8 connect that way:
 *
 * - `uselibpqcompat=true` is set (replacing any value given): pg-connection-string then gives
 *   prefer, require, verify-ca and verify-full libpq's semantics instead of treating the first
 *   three as verify-full, which it announces with a SECURITY WARNING and means to change in pg 9.
 * - `allow` becomes `disable`: pg cannot retry in clear or with TLS as libpq does, and libpq's
 *   first attempt with allow is in clear (pg-connection-string would verify fully instead).
 * - `sslrootcert=system` (libpq 16: the system's trusted CAs) is removed, leaving pg Node's CA
 *   store; it implies verify-full and refuses weaker modes, as in libpq.
 * - verify-ca without sslrootcert is refused here, naming the fix (libpq would read
 *   ~/.postgresql/root.crt; against a public CA store, verify-ca would accept any host).
 *
 * Without any sslmode the URL is left to pg: in clear, unless pg's own sslcert, sslkey,
 * sslrootcert or ssl parameters turn TLS on (then with full verification).
 * Throws a PostgresTlsSettingsError for an unknown sslmode or a combination libpq refuses.
 */
export function resolvePostgresTls(url: string, environmentSslMode?: string): PostgresTls {
  const query = splitQuery(url);
  const last = (name: string): string | undefined => query.parameters.findLast((p) => p.name === name)?.value;
  // pg-connection-string ignores an empty sslrootcert, and so does this.
  const rootCert = emptyAsUnset(last('sslrootcert'));
  const systemRoots = rootCert === 'system';
  let sslmode = parseSslMode(emptyAsUnset(last('sslmode')), 'sslmode');
  let sslmodeFrom: PostgresTls['sslmodeFrom'] = sslmode === undefined ? undefined : 'url';
  if (sslmode === undefined && !systemRoots) {
    sslmode = parseSslMode(emptyAsUnset(environmentSslMode), 'PGSSLMODE');
    if (sslmode !== undefined) sslmodeFrom = 'PGSSLMODE';
  }
  if (systemRoots) {
    // libpq 16: sslrootcert=system without an sslmode in the connection string means verify-full.
    sslmode ??= 'verify-full';
    sslmodeFrom = 'url';
    if (sslmode !== 'verify-full') {
      throw new PostgresTlsSettingsError(
        `sslmode=${sslmode} cannot be used with sslrootcert=system: use sslmode=verify-full (as libpq requires)`,
      );
    }
  }
  if (sslmode === 'verify-ca' && rootCert === undefined) {
    throw new PostgresTlsSettingsError(
      'sslmode=verify-ca needs sslrootcert=<file of the CA that issued the server certificate>: without it, any certificate from a public CA would do, whatever host it names; or use sslmode=verify-full',
    );
  }
  if (sslmode === undefined) {
    // Described as pg will act (this function does not change it): `ssl=no-verify` encrypts
    // without verifying; any other of its TLS parameters verifies fully.
    const ssl = last('ssl');
    const noVerify = ssl === 'no-verify';
    const pgTls =
      noVerify ||
      ssl === 'true' ||
      ssl === '1' ||
      query.parameters.some((p) => PG_TLS_FILES.has(p.name) && p.value !== '');
    return {
      sslmode,
      sslmodeFrom,
      verifies: pgTls && !noVerify ? 'chain-and-host' : 'nothing',
      alwaysEncrypted: pgTls,
      connectionString: url,
    };
  }
  const replaced = new Set(['sslmode', 'uselibpqcompat', ...(systemRoots ? ['sslrootcert'] : [])]);
  const kept = query.parameters.filter((p) => !replaced.has(p.name)).map((p) => p.raw);
  kept.push(`sslmode=${sslmode === 'allow' ? 'disable' : sslmode}`, 'uselibpqcompat=true');
  return {
    sslmode,
    sslmodeFrom,
    verifies: verificationOf(sslmode, rootCert !== undefined),
    alwaysEncrypted: sslmode !== 'disable' && sslmode !== 'allow',
    connectionString: `${query.before}?${kept.join('&')}${query.fragment}`,
  };
}

/**
 * The start-up warning for a PostgreSQL URL whose connection does not verify the server it
 * reaches (in clear, or encrypted without checking the certificate), or undefined: none for a
 * server on this machine (loopback, Unix socket), for verify-full, nor for verify-ca and
 * require with sslrootcert, whose chain is checked against the CA the operator chose. Invalid
 * settings give none either: opening the database refuses them with their reason.
 */
export function postgresTlsWarning(url: string, environmentSslMode?: string): string | undefined {
  let tls: PostgresTls;
  try {
    tls = resolvePostgresTls(url, environmentSslMode);
  } catch {
    return undefined;
  }
  if (tls.verifies !== 'nothing') return undefined;
  const host = hostOf(url);
  if (host === undefined || isLocalHost(host)) return undefined;
  const fix =
    'use sslmode=verify-full with sslrootcert=<CA file> (a warning, not a refusal: a database reached only inside a private network may be acceptable)';
  const how =
    tls.sslmode === undefined
      ? 'WARDEN_DATABASE_URL sets no sslmode'
      : tls.sslmodeFrom === 'PGSSLMODE'
        ? `PGSSLMODE=${tls.sslmode} (WARDEN_DATABASE_URL sets no sslmode)`
        : `WARDEN_DATABASE_URL uses sslmode=${tls.sslmode}`;
  if (!tls.alwaysEncrypted) {
    return `${how}: the connection to ${host} is not encrypted, so passwords, tokens and audit data cross the network in clear; ${fix}`;
  }
  return `${how}: the connection to ${host} is encrypted but the server's certificate is not verified, so whoever can intercept the traffic can pose as the database; ${fix}`;
}

function verificationOf(sslmode: SslMode, hasRootCert: boolean): PostgresTls['verifies'] {
  switch (sslmode) {
    case 'verify-full':
      return 'chain-and-host';
    case 'verify-ca':
      return 'chain';
    // libpq: "if a root CA file exists, the behavior of sslmode=require will be the same as
    // that of verify-ca"; pg-connection-string does the same with uselibpqcompat.
    case 'require':
      return hasRootCert ? 'chain' : 'nothing';
    default:
      return 'nothing';
  }
}

function parseSslMode(value: string | undefined, source: string): SslMode | undefined {
  if (value === undefined) return undefined;
  if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  // pg's own `no-verify` is what libpq calls require; say so rather than guess.
  const hint =
    value === 'no-verify' ? ' (no-verify is the pg driver’s name for what libpq calls require)' : '';
  throw new PostgresTlsSettingsError(`${source} "${value}" is not one of ${SSL_MODES.join(', ')}${hint}`);
}

function emptyAsUnset(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

interface QueryParameter {
  /** As written in the URL, so the parameters not rewritten reach pg byte for byte. */
  readonly raw: string;
  readonly name: string;
  readonly value: string;
}

/**
 * The URL around its query and the query's parameters, decoded as pg-connection-string does
 * (URLSearchParams), whose last value of a repeated name wins there too.
 */
function splitQuery(url: string): { before: string; parameters: QueryParameter[]; fragment: string } {
  const hash = url.indexOf('#');
  const fragment = hash === -1 ? '' : url.slice(hash);
  const withoutFragment = hash === -1 ? url : url.slice(0, hash);
  const question = withoutFragment.indexOf('?');
  if (question === -1) return { before: withoutFragment, parameters: [], fragment };
  const parameters: QueryParameter[] = [];
  for (const raw of withoutFragment.slice(question + 1).split('&')) {
    if (raw === '') continue;
    const entry = new URLSearchParams(raw).entries().next();
    if (entry.done === true) continue;
    parameters.push({ raw, name: entry.value[0], value: entry.value[1] });
  }
  return { before: withoutFragment.slice(0, question), parameters, fragment };
}

/** The host pg connects to: the `host` parameter when given (as pg reads it), else the URL's. */
function hostOf(url: string): string | undefined {
  const fromQuery = splitQuery(url).parameters.findLast((p) => p.name === 'host')?.value;
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  try {
    return decodeURIComponent(new URL(url).hostname.replace(/^\[(.+)\]$/, '$1'));
  } catch {
    return undefined;
  }
}

/** A host that traffic reaches without crossing a network: empty (pg's default, localhost), loopback, a socket path. */
function isLocalHost(host: string): boolean {
  return (
    host === '' ||
    host === 'localhost' ||
    host === '::1' ||
    host.startsWith('/') ||
    /^127(?:\.\d{1,3}){3}$/.test(host)
  );
}
