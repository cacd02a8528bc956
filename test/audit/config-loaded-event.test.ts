import { describe, expect, it } from 'vitest';
import { configLoadedDetails } from '../../src/audit/config-loaded-event.js';
import { MAX_DETAILS_BYTES, redactDetails } from '../../src/audit/redact-details.js';
import { loadSettings } from '../../src/config/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

type Setting = { name: string; value: string; source: string };

const origins = (count: number) => Array.from({ length: count }, (_, i) => `https://tenant-${i}.customer-domain.example.com`).join(',');
const load = (extra: Record<string, string>) =>
  loadSettings({ env: { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: TEST_SECRET_KEY, ...extra }, envFile: false, generateDevSecrets: false });
/** As the audit log stores the event's details. */
const stored = (extra: Record<string, string>) => JSON.parse(redactDetails(configLoadedDetails(load(extra)), 'config.loaded') ?? 'null') as Record<string, unknown>;

describe('config.loaded stays under the audit size limit, instead of being stored as a "truncated" marker', () => {
  it('lists every setting with its value and source when they fit', () => {
    const details = stored({ WARDEN_CORS_ORIGINS: origins(3) });
    expect(details.defaults).toBeUndefined();
    expect((details.settings as Setting[]).find((s) => s.name === 'WARDEN_REFRESH_TOKEN_TTL')).toEqual({ name: 'WARDEN_REFRESH_TOKEN_TTL', value: '604800', source: 'default' });
  });

  it('names settings left at their defaults without their values when everything would not fit (a long CORS list)', () => {
    const details = stored({ WARDEN_CORS_ORIGINS: origins(60), WARDEN_ACCESS_TOKEN_TTL: '600' });
    expect(details.truncated).toBeUndefined();
    const settings = details.settings as Setting[];
    expect(settings.find((s) => s.name === 'WARDEN_CORS_ORIGINS')).toEqual({ name: 'WARDEN_CORS_ORIGINS', value: origins(60), source: 'env' });
    expect(settings.find((s) => s.name === 'WARDEN_ACCESS_TOKEN_TTL')).toEqual({ name: 'WARDEN_ACCESS_TOKEN_TTL', value: '600', source: 'env' });
    expect(settings.every((s) => s.source !== 'default')).toBe(true);
    expect(details.defaults).toContain('WARDEN_REFRESH_TOKEN_TTL');
    expect(details.shortened).toBeUndefined();
  });

  it('shortens long values, saying their full length, when even that would not fit', () => {
    const details = stored({ WARDEN_CORS_ORIGINS: origins(400) });
    expect(details.truncated).toBeUndefined();
    const cors = (details.settings as Setting[]).find((s) => s.name === 'WARDEN_CORS_ORIGINS');
    expect(cors?.value).toMatch(new RegExp(`^https://tenant-0\\.customer-domain\\.example\\.com,.*… \\(${origins(400).length} characters\\)$`));
    expect(details.shortened).toEqual(['WARDEN_CORS_ORIGINS']);
    expect(Buffer.byteLength(JSON.stringify(details))).toBeLessThanOrEqual(MAX_DETAILS_BYTES);
  });
});
