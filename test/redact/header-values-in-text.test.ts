import { describe, expect, it } from 'vitest';
import { createLineRedactor, redactText, defaultRedactor } from '../../src/redact/index.js';
import { triageCapturingBodies } from '../resilience/fake-chat-provider.js';

const SECRET = 'Zq8rVt3LmW9pXs2KaB7c';

// docs/redaction.md: the `Authorization` header is redacted by name whatever its value. Written
// as text (an access log, a dumped request, `warden redact`, the triage payload) a header's value
// is the rest of the line — `<scheme> <credentials>`, a cookie list — not its first word; inside
// a quoted string (`curl -H "…"`) it ends at the string's closing quote.
const LINES: Record<string, string> = {
  'Authorization with the ApiKey scheme': `2026-12-07T10:00:00Z ERROR upstream 401 Authorization: ApiKey ${SECRET}`,
  'Authorization with the Negotiate scheme': `ERROR request headers: Authorization: Negotiate ${SECRET}`,
  'Authorization with the SSWS scheme (Okta)': `ERROR Authorization: SSWS ${SECRET}`,
  'Authorization: Token token="…" (Rails)': `ERROR Authorization: Token token="${SECRET}", email="x"`,
  'Proxy-Authorization with the Digest scheme': `ERROR Proxy-Authorization: Digest username="u", response="${SECRET}"`,
  'Cookie with the session cookie second': `ERROR Cookie: theme=dark; connect.sid=${SECRET}`,
  'Cookie with a PHP session cookie second': `ERROR cookie: lang=en; PHPSESSID=${SECRET}; x=1`,
};

describe('header values written as text are redacted whole', () => {
  for (const [name, line] of Object.entries(LINES)) {
    it(`redactText: ${name}`, () => {
      expect(redactText(line)).not.toContain(SECRET);
    });
  }

  it('keeps the scheme word, an already redacted bearer token, and what follows a quoted header', () => {
    expect(redactText(`curl -H "Authorization: ApiKey ${SECRET}" https://api.example.com/x`)).toBe(
      'curl -H "Authorization: ApiKey [REDACTED:secret_assignment]" https://api.example.com/x',
    );
    expect(redactText(`curl -H "Authorization: Token token=\\"${SECRET}\\"" https://x`)).toBe(
      'curl -H "Authorization: Token [REDACTED:secret_assignment]" https://x',
    );
    expect(redactText(`msg="Cookie: a=b; sid=${SECRET}" status=200`)).toBe(
      'msg="Cookie: [REDACTED:secret_assignment]" status=200',
    );
    expect(redactText('curl -H "authorization: bearer abc.DEF-123_456~xyz"')).toBe(
      'curl -H "authorization: bearer [REDACTED:bearer_token]"',
    );
    expect(redactText(`authorization=${SECRET} status=200`)).toBe(
      'authorization=[REDACTED:secret_assignment] status=200',
    );
  });

  it('warden redact (the line redactor) does not pass them through', () => {
    const lines = createLineRedactor(defaultRedactor);
    const out = Object.values(LINES).map((l) => lines.line(l) ?? '');
    expect(out.filter((l) => l.includes(SECRET))).toEqual([]);
  });

  it('they do not reach the LLM provider of log triage', async () => {
    const { bodies, triage, breaker } = triageCapturingBodies();
    try {
      await triage.triage({ lines: Object.values(LINES) });
    } finally {
      breaker.dispose();
    }
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).not.toContain(SECRET);
  });
});
