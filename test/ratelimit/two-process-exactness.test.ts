import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/limited-server.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/ratelimit/rate-limit-plugin.js', import.meta.url));

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
}

function startServer(prefix: string, algorithm: string, limit: number, frozenNow: number): Promise<Server> {
  const child = fork(FIXTURE, [TEST_REDIS_URL, prefix, algorithm, String(limit), String(frozenNow)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve({ child, port: Number(line) });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${String(code)}`)));
  });
}

let servers: Server[] = [];
let prefix = '';
afterEach(async () => {
  for (const server of servers) {
    server.child.send('stop');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  servers = [];
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describeWithRedis('two server processes sharing one Redis', () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket']) {
    it(`${algorithm}: a limit of N lets exactly N concurrent requests through, not N+1`, async () => {
      // The fixture runs the compiled code: `npm test` builds first (pretest); run `npm run build` otherwise.
      expect(existsSync(DIST), 'run `npm run build` before this test').toBe(true);
      prefix = `warden-test:${randomBytes(6).toString('hex')}:`;
      const limit = 50;
      const frozenNow = Date.now();
      servers = await Promise.all([startServer(prefix, algorithm, limit, frozenNow), startServer(prefix, algorithm, limit, frozenNow)]);
      // 2 × 80 requests at once, alternating between the two processes.
      const requests = Array.from({ length: 160 }, (_, i) => {
        const server = servers[i % 2];
        if (server === undefined) throw new Error('no server');
        return fetch(`http://127.0.0.1:${server.port}/v1/hit`).then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        });
      });
      const statuses = await Promise.all(requests);
      expect(statuses.filter((s) => s !== 200 && s !== 429), 'every answer is 200 or 429').toEqual([]);
      expect(statuses.filter((s) => s === 200)).toHaveLength(limit);
      expect(statuses.filter((s) => s === 429)).toHaveLength(160 - limit);
    });
  }
});
