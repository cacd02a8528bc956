import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.js';

/** Sends a raw request line (no client-side URL normalisation) and waits for the answer. */
async function rawGet(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: target, method: 'GET', headers: { host: `127.0.0.1:${port}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// The request log line keeps the query as sent, a sensitive key's value replaced: re-encoding it
// (`@` → `%40`) would hide an e-mail address or a URL's credentials from the value patterns the
// line goes through next. The request need not even be authenticated to be logged.
describe('the request log line keeps what the value patterns would catch in the raw query', () => {
  it('does not write URL credentials or an e-mail address sent unencoded in a query value', async () => {
    const t = await createTestApp();
    try {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = t.app.server.address() as AddressInfo;
      const password = 'Zq8rVt3LmW9pXs2K';
      // A redirect target with credentials and an e-mail address, both valid unencoded in a query.
      await rawGet(port, `/v1/audit?actor=carol@example.com&entity_id=https://svc:${password}@db.internal/x`);
      const line = t.logs.find(
        (l) => l.msg === 'request' && typeof l.path === 'string' && l.path.startsWith('/v1/audit'),
      );
      expect(line).toBeDefined();
      const raw = t.rawLogs();
      expect(raw).not.toContain(password);
      expect(raw).not.toContain('carol');
      // A sensitive key's value is replaced whatever it holds; the other pairs stay as sent.
      await rawGet(port, '/v1/audit?limit=5&access%5Ftoken=Zq8rVt3LmW9pXs2K&hours=1');
      expect(
        t.logs.some(
          (l) => l.msg === 'request' && l.path === '/v1/audit?limit=5&access%5Ftoken=[REDACTED]&hours=1',
        ),
      ).toBe(true);
      // A malformed escape beside valid ones does not hide the key's name.
      await rawGet(port, '/v1/audit?pass%77ord%ZZ=Zq8rVt3LmW9pXs2K');
      expect(t.rawLogs()).not.toContain('Zq8rVt3LmW9pXs2K');
    } finally {
      await t.close();
    }
  });
});
