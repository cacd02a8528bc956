import type { Redactor } from './redactor.js';
import { redactionHint } from './redactor.js';

const BEGIN_PEM = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
const END_PEM = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;

/** Redacts a log one line at a time, remembering when it is inside a multi-line private key. */
export interface LineRedactor {
  /** The redacted line, or undefined when the whole line belongs to a private key block. */
  line(text: string): string | undefined;
}

/**
 * Line-by-line redaction for streams (the `warden redact` CLI): JSON lines are redacted by key
 * and value, other lines as text, and PEM private keys spanning lines are dropped until their
 * END line (a key without END hides the rest of the input: fail closed).
 */
export function createLineRedactor(redactor: Redactor): LineRedactor {
  let insideKey = false;
  const redactOne = (text: string): string => {
    const trimmed = text.trim();
    if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
      try {
        return JSON.stringify(redactor.redactValue(JSON.parse(trimmed)));
      } catch {
        // Not JSON after all: fall through to text.
      }
    }
    return redactor.redactText(text);
  };
  return {
    line(text) {
      if (insideKey) {
        const end = END_PEM.exec(text);
        if (end === null) return undefined;
        insideKey = false;
        const rest = text.slice(end.index + end[0].length);
        return rest.trim() === '' ? undefined : redactOne(rest);
      }
      const begin = BEGIN_PEM.exec(text);
      if (begin !== null && !END_PEM.test(text.slice(begin.index))) {
        insideKey = true;
        return `${redactOne(text.slice(0, begin.index))}${redactionHint('private_key')}`;
      }
      return redactOne(text);
    },
  };
}
