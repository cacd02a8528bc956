import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), readStdin: async () => Buffer.alloc(0) } };
}

describe('warden clients: durations are checked before anything is created', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    // No usable database or secret: a command that got as far as opening one would fail differently.
    Object.assign(process.env, { WARDEN_ENV: 'development', WARDEN_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    delete process.env.WARDEN_SECRET_KEY;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  for (const [flag, value] of [
    ['--expires-in', '0'],
    ['--expires-in', '99999999999999999999d'],
  ] as const) {
    it(`clients create ${flag} ${value}: exit 2 with a message, no client`, async () => {
      const { io, out, err } = captureIo();
      expect(await runCli(['node', 'warden', 'clients', 'create', '--name', 'n', '--owner', 'u', flag, value], io)).toBe(2);
      expect(out).toEqual([]);
      expect(err.join('\n')).toMatch(/--expires-in|too long/);
    });
  }

  for (const args of [['--cursor', "' OR 1=1 --"], ['--cursor', Buffer.from('k:1767225600000:00000000-0000-4000-8000-000000000000').toString('base64url')], ['--limit', '0'], ['--limit', '201'], ['--limit', '2x']]) {
    it(`clients list ${args.join(' ')}: exit 2 with a message naming the flag`, async () => {
      const { io, out, err } = captureIo();
      expect(await runCli(['node', 'warden', 'clients', 'list', ...args], io)).toBe(2);
      expect(out).toEqual([]);
      expect(err.join('\n')).toContain(args[0]);
    });
  }

  it('clients rotate --grace with an overflowing duration: exit 2', async () => {
    const { io, err } = captureIo();
    expect(await runCli(['node', 'warden', 'clients', 'rotate', 'some-client', '--grace', '99999999999999999999d'], io)).toBe(2);
    expect(err.join('\n')).toContain('too long');
  });
});

describe('warden clients create --help', () => {
  // docs/oauth.md: a client is its own principal; its owner manages it and caps its scopes.
  it('describes --owner as the user who owns the client, not one it acts for', async () => {
    const { io, out } = captureIo();
    expect(await runCli(['node', 'warden', 'clients', 'create', '--help'], io)).toBe(0);
    const help = out.join('\n').replace(/\s+/g, ' ');
    expect(help).not.toMatch(/acts for/);
    expect(help).toContain('--owner <user> the user who owns and manages the client (a user id (UUID) or email); the client is its own principal, and its scopes are capped by what this user holds');
  });
});
