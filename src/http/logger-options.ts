import type { LoggerOptions } from 'pino';
import { isSensitiveKey, REDACTED } from '../redact/sensitive-keys.js';

/** Deep-copies a log object, replacing values of sensitive keys (nested objects and arrays too). */
export function redactLogValue(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactLogValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSensitiveKey(key) ? REDACTED : redactLogValue(inner, depth + 1);
  }
  return out;
}

/** Removes sensitive query-string values from a URL path before it is logged. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (isSensitiveKey(key)) params.set(key, REDACTED);
  return `${url.slice(0, q)}?${params.toString()}`;
}

/**
 * pino options for the service: headers carrying credentials are removed by path, and every
 * log object goes through key-based redaction so a secret in a nested field never lands.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'warden' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
        'headers["x-api-key"]',
      ],
      censor: REDACTED,
    },
    formatters: {
      log: (object) => redactLogValue(object) as Record<string, unknown>,
    },
  };
}
