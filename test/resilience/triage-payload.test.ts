import { describe, expect, it } from 'vitest';
import { triageCapturingBodies } from './fake-chat-provider.js';
import { createLogTriage } from '../../src/resilience/log-triage.js';
import { createRecentErrorLog } from '../../src/resilience/recent-error-log.js';

// A real-looking PKCS#8 body (random base64, not a real key).
const KEY_BODY = [
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
  'MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu',
  'NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ',
];

describe('what log triage sends to the LLM provider', () => {
  // The body lines of a PEM private key match no secret pattern of their own: the key is
  // dropped as a block, from BEGIN to END, before any line is picked or cut.
  it('never sends the body of a multi-line private key (syslog-prefixed lines)', async () => {
    const { bodies, triage, breaker } = triageCapturingBodies();
    const lines = [
      '2026-12-01T10:00:00Z ERROR tls: could not load key -----BEGIN PRIVATE KEY-----',
      ...KEY_BODY.map((l) => `2026-12-01T10:00:00Z ERROR tls: ${l}`),
      '2026-12-01T10:00:00Z ERROR tls: -----END PRIVATE KEY-----',
    ];
    const result = await triage.triage({ lines });
    breaker.dispose();
    expect(result.sent).not.toBeNull();
    for (const l of KEY_BODY) expect(bodies.join('\n').includes(l), `key line ${l.slice(0, 12)}… sent`).toBe(false);
  });

  it('never sends the body of an indented multi-line private key after an error line', async () => {
    const { bodies, triage, breaker } = triageCapturingBodies();
    const lines = [
      'ERROR failed to parse config:\n' +
        '    tls_key: |\n' +
        '    -----BEGIN RSA PRIVATE KEY-----\n' +
        KEY_BODY.map((l) => `    ${l}`).join('\n') +
        '\n    -----END RSA PRIVATE KEY-----',
    ];
    await triage.triage({ lines });
    breaker.dispose();
    for (const l of KEY_BODY) expect(bodies.join('\n').includes(l), `key line ${l.slice(0, 12)}… sent`).toBe(false);
  });

  // The second pass must not cut the text at the redactor's 64 KiB per string: 200 lines of
  // ~1 KB would lose the newest ones while lines_sent still said 200.
  it('sends the newest error lines and reports lines_sent truthfully', async () => {
    const { bodies, triage, breaker } = triageCapturingBodies();
    const lines = Array.from({ length: 200 }, (_, i) => `ERROR job ${String(i).padStart(3, '0')} failed ${'x'.repeat(1000)}`);
    const result = await triage.triage({ lines });
    breaker.dispose();
    expect(result.lines_sent).toBe(200);
    const sent = JSON.parse(bodies[0] ?? '{}') as { messages: { content: string }[] };
    const content = sent.messages[1]?.content ?? '';
    expect(content.includes('ERROR job 199 failed'), 'newest line sent').toBe(true);
    expect(content.includes('ERROR job 000 failed'), 'oldest line sent').toBe(true);
    expect(content).not.toContain('[REDACTED:truncated]');
  });

  // The ring cuts lines at 8 KiB, and a cut pino line is no longer JSON: its level at the start
  // still makes it an error line (the cut ones are those with the longest stacks).
  it('triages an error line of the recent-error ring that was cut to 8 KiB', async () => {
    const { triage, breaker } = triageCapturingBodies();
    const ring = createRecentErrorLog();
    ring.push(JSON.stringify({ level: 50, time: 1, msg: 'db pool exhausted', err: { stack: 'Error: db pool exhausted\n' + '    at frame (x.js:1:1)\n'.repeat(600) } }));
    const withRing = createLogTriage({
      provider: { baseUrl: 'https://llm.example/v1', model: 'm' },
      breaker,
      recentErrors: ring,
      fetch: (async () => new Response(JSON.stringify({ choices: [{ message: { content: 'ok' } }] }))) as typeof fetch,
    });
    void triage;
    const result = await withRing.triage({});
    breaker.dispose();
    expect(result.lines_received).toBe(1);
    expect(result.lines_sent).toBe(1);
  });
});
