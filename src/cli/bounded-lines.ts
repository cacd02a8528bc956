import { StringDecoder } from 'node:string_decoder';

/**
 * The lines of a byte stream (split at `\n`, `\r\n` or a lone `\r`, as readline does), each cut
 * to at most `maxChars + 1` characters: the rest of an overlong line is read and dropped, so a
 * line of any length (a run of NUL bytes in a log after a crash) costs bounded memory instead of
 * ending the process on V8's string limit. A consumer that sees more than `maxChars` characters
 * knows the line was cut.
 */
export async function* boundedLines(input: AsyncIterable<Buffer | string>, maxChars: number): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let line = '';
  let pendingCr = false;
  const take = (text: string): void => {
    if (line.length <= maxChars) line += text.slice(0, maxChars + 1 - line.length);
  };
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let from = 0;
    for (let i = 0; i < text.length; i += 1) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // The `\n` of a `\r\n` split across chunks ends nothing more.
      if (c === 10 && pendingCr && i === 0) {
        pendingCr = false;
        from = i + 1;
        continue;
      }
      take(text.slice(from, i));
      yield line;
      line = '';
      pendingCr = false;
      if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i += 1;
        else if (i + 1 === text.length) pendingCr = true;
      }
      from = i + 1;
    }
    if (from < text.length) {
      pendingCr = false;
      take(text.slice(from));
    }
  }
  take(decoder.end());
  if (line !== '') yield line;
}
