import { describe, expect, it } from 'vitest';
import { createLineRedactor, defaultRedactor, redactValue } from '../../src/redact/index.js';

const KEY = 'Zq8rVt3LmW9pXs2KaB7c';
const SID = 'Qw4eRt6yUi8oPa1sDf3g';

// Node's `IncomingMessage.rawHeaders` (and undici's header arrays) list headers as
// [name, value, name, value…]: under a `…headers` or `…trailers` key, a value after a sensitive
// header name is redacted as under that key. Elsewhere an even list of names is left alone.
describe('a header value after a sensitive header name in a [name, value, …] array', () => {
  const rawHeaders = ['Host', 'api.example.com', 'X-Api-Key', KEY, 'Cookie', `sid=${SID}`, 'Accept', '*/*'];

  it('is redacted by redactValue (logger, audit details)', () => {
    const out = JSON.stringify(redactValue({ req: { rawHeaders } }));
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(SID);
    expect(out).toContain('Accept');
  });

  it('is redacted in a JSON line by `warden redact`', () => {
    const out =
      createLineRedactor(defaultRedactor).line(
        JSON.stringify({ level: 50, msg: 'upstream failed', rawHeaders }),
      ) ?? '';
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(SID);
  });

  it('leaves an even list of field names elsewhere alone', () => {
    expect(redactValue({ fields: ['password', 'name'] })).toEqual({ fields: ['password', 'name'] });
  });
});
