import { describe, expect, it } from 'vitest';
import { describeSettings, loadSettings, maskUrlCredentials } from '../../src/config/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

describe('maskUrlCredentials', () => {
  it('masks the password of user:pass@', () => {
    expect(maskUrlCredentials('postgres://app:hunter2@db:5432/warden')).toBe('postgres://app:********@db:5432/warden');
    expect(maskUrlCredentials('redis://:hunter2@cache:6379/0')).toBe('redis://:********@cache:6379/0');
  });

  it('masks password query parameters, which pg and ioredis also accept', () => {
    expect(maskUrlCredentials('postgres://warden@db/warden?password=hunter2')).toBe('postgres://warden@db/warden?password=********');
    expect(maskUrlCredentials('redis://cache:6379/0?password=hunter2&db=1')).toBe('redis://cache:6379/0?password=********&db=1');
    expect(maskUrlCredentials('postgres://db/w?sslmode=verify-full&sslpassword=hunter2')).toBe('postgres://db/w?sslmode=verify-full&sslpassword=********');
  });

  it('masks any parameter whose name contains pass, pwd, secret, token or key, in any case or escaping', () => {
    const masked = maskUrlCredentials('https://h/p?PASSWORD=a&pwd=b&client_secret=c&access_token=d&api_key=e&sslkey=/k.pem&pa%73s=f&x+pass=g');
    expect(masked).toBe('https://h/p?PASSWORD=********&pwd=********&client_secret=********&access_token=********&api_key=********&sslkey=********&pa%73s=********&x+pass=********');
  });

  it('leaves every other parameter exactly as written, so the URL stays recognisable', () => {
    const url = 'postgres://warden@db:5432/warden?sslmode=verify-full&sslrootcert=/etc/ca.pem&options=-c%20search_path%3Dapp&application_name=warden';
    expect(maskUrlCredentials(url)).toBe(url);
    expect(maskUrlCredentials('postgres://db/w?password=hunter2&options=-c%20search_path%3Dapp#x')).toBe('postgres://db/w?password=********&options=-c%20search_path%3Dapp#x');
  });

  it('returns values that are not URLs, and URLs without credentials, unchanged', () => {
    expect(maskUrlCredentials('info')).toBe('info');
    expect(maskUrlCredentials('sqlite:/var/lib/warden/warden.db')).toBe('sqlite:/var/lib/warden/warden.db');
    expect(maskUrlCredentials('postgres://db/w?password')).toBe('postgres://db/w?password');
  });
});

describe('describeSettings', () => {
  it('shows database and Redis URLs with their query-string passwords masked', () => {
    const loaded = loadSettings({
      env: {
        WARDEN_DATABASE_URL: 'postgres://warden@db/warden?password=db-hunter2',
        WARDEN_REDIS_URL: 'redis://cache:6379/0?password=redis-hunter2',
        WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      },
      envFile: false,
      generateDevSecrets: false,
    });
    const rows = Object.fromEntries(describeSettings(loaded.settings, loaded.sources).map((row) => [row.name, row.value]));
    expect(rows.WARDEN_DATABASE_URL).toBe('postgres://warden@db/warden?password=********');
    expect(rows.WARDEN_REDIS_URL).toBe('redis://cache:6379/0?password=********');
    expect(JSON.stringify(rows)).not.toContain('hunter2');
  });
});
