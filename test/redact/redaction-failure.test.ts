import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/http/logger-options.js';

// A logged value whose reading throws (a getter, a revoked proxy) makes redaction fail. The line
// must say so without its content — never the value unredacted — and the log call must return:
// an exception out of a log call (in a crash handler, say) is one its caller never expects.
describe('a log line whose redaction fails', () => {
  function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
    let raw = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw += chunk.toString('utf8');
        done();
      },
    });
    const log = pino(loggerOptions('info'), stream);
    return {
      log,
      lines: () =>
        raw
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  }
  const hostile = {
    password: 'Zq8rVt3LmW9pXs2KaB7c',
    get broken(): never {
      throw new Error('getter failed');
    },
  };

  it('in the merged object: the call returns and the line says redaction_failed, without the content', () => {
    const { log, lines } = capture();
    expect(() => log.info({ detail: hostile }, 'something happened')).not.toThrow();
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ redaction_failed: true });
    expect(JSON.stringify(lines())).not.toContain('Zq8rVt3LmW9pXs2KaB7c');
  });

  it('in an interpolation argument: the same', () => {
    const { log, lines } = capture();
    expect(() => log.info('value %o', hostile)).not.toThrow();
    expect(lines()[0]).toMatchObject({
      redaction_failed: true,
      msg: 'log line dropped: redacting it failed',
    });
    expect(JSON.stringify(lines())).not.toContain('Zq8rVt3LmW9pXs2KaB7c');
  });
});
