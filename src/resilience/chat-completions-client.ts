import { WardenError } from '../errors/index.js';

/** Where an OpenAI-compatible chat API lives. */
export interface ChatProvider {
  /** Base URL; `<baseUrl>/chat/completions` is called. */
  readonly baseUrl: string;
  readonly model: string;
  /** Sent as `Authorization: Bearer …`; never logged or echoed. */
  readonly apiKey?: string | undefined;
}

export interface ChatMessage {
  readonly role: 'system' | 'user';
  readonly content: string;
}

/** The exact JSON body sent to the provider. */
export interface ChatRequestBody {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature: number;
}

/** An answer the breaker should count as an upstream failure (5xx, 408, 429, bad JSON). */
export class UpstreamFailure extends Error {
  constructor(
    readonly httpStatus: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

const MAX_RESPONSE_BYTES = 1_048_576;

/** `<base>/chat/completions`, keeping a path prefix such as `/v1`. */
export function chatCompletionsUrl(baseUrl: string): URL {
  return new URL('chat/completions', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
}

/**
 * POSTs one chat completion and returns the first choice's text. A 4xx other than 408/429
 * is our request's fault and throws `upstream_error` directly (not counted by the breaker);
 * transport errors, 5xx, 408, 429 and unreadable answers throw UpstreamFailure.
 */
export async function postChatCompletion(
  provider: ChatProvider,
  body: ChatRequestBody,
  options: { signal: AbortSignal; fetch?: typeof fetch },
): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (provider.apiKey !== undefined && provider.apiKey !== '')
    headers.authorization = `Bearer ${provider.apiKey}`;
  let response: Response;
  try {
    response = await doFetch(chatCompletionsUrl(provider.baseUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: options.signal,
      redirect: 'error',
    });
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new UpstreamFailure(undefined, `chat API unreachable: ${(error as Error).name}`);
  }
  const text = await readCapped(response, MAX_RESPONSE_BYTES);
  if (!response.ok) {
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      throw new UpstreamFailure(response.status, `chat API answered HTTP ${response.status}`);
    }
    throw new WardenError(
      'upstream_error',
      `The LLM provider rejected the request (HTTP ${response.status})`,
      {
        fields: { upstream_status: response.status },
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UpstreamFailure(response.status, 'chat API answered with invalid JSON');
  }
  const content = (parsed as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]
    ?.message?.content;
  if (typeof content !== 'string')
    throw new UpstreamFailure(response.status, 'chat API answer has no choices[0].message.content');
  return content;
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new UpstreamFailure(response.status, `chat API answer larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
