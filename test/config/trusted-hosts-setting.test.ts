import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

// An entry of WARDEN_TRUSTED_HOSTS that can never match a Host header (a URL, a path, a lone
// `*`, a wildcard with a port) would make every API request a 400 invalid_host while the health
// probes, exempt from the check, keep reporting the instance healthy: it is refused at start.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function load(value: string): ReturnType<typeof loadSettings> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'warden-trusted-hosts-'));
  dirs.push(cwd);
  return loadSettings({
    env: { WARDEN_TRUSTED_HOSTS: value },
    cwd,
    envFile: false,
    generateDevSecrets: false,
  });
}

describe('WARDEN_TRUSTED_HOSTS', () => {
  it.each([
    [
      'https://api.example.com',
      '"https://api.example.com" is not a host, host:port or *.domain (no scheme, path or lone *)',
    ],
    [
      'api.example.com/',
      '"api.example.com/" is not a host, host:port or *.domain (no scheme, path or lone *)',
    ],
    [
      'api.example.com/v1',
      '"api.example.com/v1" is not a host, host:port or *.domain (no scheme, path or lone *)',
    ],
    ['*', '"*" is not a host, host:port or *.domain (no scheme, path or lone *)'],
    ['ok.example.com, *.example.com:8443', '"*.example.com:8443" is not *.domain (a wildcard takes no port)'],
  ])('refuses %s at start, naming the variable and the entry', (value, reason) => {
    let problems: readonly string[] = [];
    try {
      load(value);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      `WARDEN_TRUSTED_HOSTS has ${reason}: it would never match a Host header, so every request would be refused`,
    ]);
  });

  it('accepts the documented forms', () => {
    const value = 'api.example.com, api.example.com:8443, *.example.com, [::1]:8080, 127.0.0.1';
    expect(load(value).settings.trustedHosts).toEqual([
      'api.example.com',
      'api.example.com:8443',
      '*.example.com',
      '[::1]:8080',
      '127.0.0.1',
    ]);
  });
});
