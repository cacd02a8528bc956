import pino from 'pino';
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { outageLog } from '../../src/server/outage-log.js';

/** A pino logger writing parsed lines into `lines`. */
function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/**
 * ioredis reconnects every few hundred ms while Redis is down, emitting an error each time:
 * the log gets the first failure, then one line per interval saying how many it stands for,
 * and one line when the connection is back.
 */
it('logs the first failure, then one line per interval with the number of failures it stands for, and the recovery', () => {
  const { logger, lines } = capture();
  const clock = { now: 0 };
  const log = outageLog(logger, 'redis connection error', { intervalMs: 30_000, now: () => clock.now });
  const refused = new Error('connect ECONNREFUSED');

  for (let i = 0; i < 100; i += 1) {
    log.failed(refused);
    clock.now += 600;
  }
  // 100 failures in 60 s: logged at 0 s, and at 30 s for the 49 in between.
  expect(lines.map((l) => [l.level, l.msg, l.repeated])).toEqual([
    [40, 'redis connection error', undefined],
    [40, 'redis connection error', 49],
  ]);
  expect(lines[0]).toMatchObject({ err: { message: 'connect ECONNREFUSED' } });

  log.recovered();
  log.recovered();
  // The recovery counts the 49 failures since the last line.
  expect(lines.slice(2).map((l) => [l.level, l.msg, l.repeated])).toEqual([[30, 'redis connection error: recovered', 49]]);
  // The next outage is reported at once.
  log.failed(refused);
  expect(lines).toHaveLength(4);
});
