import { createHash } from 'node:crypto';
import { createLineRedactor, defaultRedactor, type Redactor } from '../redact/index.js';
import { postChatCompletion, type ChatProvider, type ChatRequestBody } from './chat-completions-client.js';
import type { CircuitBreaker, DegradedReason } from './circuit-breaker.js';
import { filterErrorLines } from './error-line-filter.js';
import type { RecentErrorLog } from './recent-error-log.js';

const SYSTEM_PROMPT =
  'You are an SRE assistant. The user message holds error-level log lines from a service called Warden. ' +
  'Secrets and personal data were replaced by placeholders like [REDACTED:email]; do not guess them. ' +
  'Summarise the distinct problems, their likely causes and what to check first, in at most 10 short bullet points.';

export interface LogTriageOptions {
  /** Unset = no provider: triage returns the payload it would have sent. */
  readonly provider: ChatProvider | undefined;
  /** Every call to the provider goes through it (timeout, circuit, cached fallback). */
  readonly breaker: CircuitBreaker;
  readonly recentErrors: RecentErrorLog;
  /** @default the default redaction engine (IP addresses included) */
  readonly redactor?: Redactor;
  /** Error lines sent at most (the newest are kept). @default 200 */
  readonly maxLines?: number;
  /** Characters per line after redaction; longer lines are cut. @default 2000 */
  readonly maxLineLength?: number;
  /** Injectable for tests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** What triage did: the summary (null without provider) and exactly what left the process. */
export interface LogTriageResult {
  readonly summary: string | null;
  /** The exact JSON body sent to the provider; null when nothing was sent. */
  readonly sent: ChatRequestBody | null;
  /** Without a provider: the redacted body that would have been sent. */
  readonly payload: ChatRequestBody | null;
  readonly provider_configured: boolean;
  readonly source: 'request' | 'recent_errors';
  readonly lines_received: number;
  readonly lines_sent: number;
  /** Set when the summary came from the fallback cache because the provider was unavailable. */
  readonly degraded?: { readonly age_ms: number; readonly reason: DegradedReason };
  readonly detail?: string;
}

export interface LogTriage {
  triage(input: { lines?: readonly string[] | undefined }): Promise<LogTriageResult>;
}

/** Characters of one second-pass redaction call: below the redactor's 64 KiB per string. */
const SECOND_PASS_CHUNK = 60_000;

/** Builds the triage service: redact → filter error lines → redact again → (breaker) → chat API. */
export function createLogTriage(options: LogTriageOptions): LogTriage {
  const redactor = options.redactor ?? defaultRedactor;
  const maxLines = options.maxLines ?? 200;
  const maxLineLength = options.maxLineLength ?? 2000;

  /** redactText over the joined lines, in chunks of whole lines below what one call reads. */
  const secondPass = (kept: readonly string[]): string => {
    const chunks: string[] = [];
    let chunk: string[] = [];
    let size = 0;
    for (const line of kept) {
      if (size + line.length + 1 > SECOND_PASS_CHUNK && chunk.length > 0) {
        chunks.push(redactor.redactText(chunk.join('\n')));
        chunk = [];
        size = 0;
      }
      chunk.push(line);
      size += line.length + 1;
    }
    if (chunk.length > 0) chunks.push(redactor.redactText(chunk.join('\n')));
    return chunks.join('\n');
  };

  const clip = (line: string): string => (line.length > maxLineLength ? `${line.slice(0, maxLineLength)}…[truncated]` : line);

  return {
    async triage(input) {
      const source = input.lines === undefined ? 'recent_errors' : 'request';
      const received = input.lines ?? options.recentErrors.lines();
      // Redacted before lines are picked, in order, by the same line redactor as `warden redact`:
      // it drops the body of a multi-line private key up to its END line. Picking or cutting
      // lines first would leave the body lines of a key whose BEGIN line was redacted or dropped.
      const lines = createLineRedactor(redactor);
      const redacted: string[] = [];
      for (const entry of received) {
        for (const physical of entry.split(/\r?\n/)) {
          const out = lines.line(physical);
          if (out !== undefined) redacted.push(out);
        }
      }
      const errorLines = filterErrorLines(redacted, { maxLines }).map(clip);
      // Then the text once more, in chunks of whole lines (the redactor reads at most 64 KiB of
      // one string, and would cut the newest lines): a secret that a cut created is caught there.
      const content = secondPass(errorLines);
      const body: ChatRequestBody = {
        model: options.provider?.model ?? '',
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: content === '' ? '(no error-level lines)' : content },
        ],
        temperature: 0,
      };
      const base = { source, lines_received: received.length, lines_sent: errorLines.length } as const;
      const provider = options.provider;
      if (provider === undefined) {
        return {
          ...base,
          summary: null,
          sent: null,
          payload: body,
          provider_configured: false,
          detail:
            'No LLM provider is set (WARDEN_LLM_URL and WARDEN_LLM_MODEL); nothing was sent. payload is what would be sent.',
        };
      }
      if (errorLines.length === 0) {
        return {
          ...base,
          summary: 'No error-level lines to triage.',
          sent: null,
          payload: null,
          provider_configured: true,
          detail: 'Nothing was sent.',
        };
      }
      const cacheKey = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
      const result = await options.breaker.call(cacheKey, (signal) =>
        postChatCompletion(
          provider,
          body,
          options.fetch === undefined ? { signal } : { signal, fetch: options.fetch },
        ),
      );
      if (result.source === 'live')
        return { ...base, summary: result.value, sent: body, payload: null, provider_configured: true };
      return {
        ...base,
        summary: result.value,
        // This request did not reach the provider; the summary is of the identical payload sent earlier.
        sent: null,
        payload: body,
        provider_configured: true,
        degraded: { age_ms: result.ageMs, reason: result.reason },
        detail:
          'The provider is unavailable; this summary was cached from an earlier call with the identical payload.',
      };
    },
  };
}
