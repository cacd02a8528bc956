import { describe, expect, it } from 'vitest';
import { boundedLines } from '../../src/cli/bounded-lines.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';

async function linesOf(chunks: readonly (string | Buffer)[], maxChars = 100): Promise<string[]> {
  const out: string[] = [];
  async function* input(): AsyncGenerator<Buffer> {
    for (const chunk of chunks) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
  for await (const line of boundedLines(input(), maxChars)) out.push(line);
  return out;
}

describe('boundedLines', () => {
  it('splits as readline does: \\n, \\r\\n and a lone \\r, also across chunks, without a trailing empty line', async () => {
    expect(await linesOf(['a\nb\r\nc\rd\n'])).toEqual(['a', 'b', 'c', 'd']);
    expect(await linesOf(['a\r', '\nb\r', 'c', '\n', '\n'])).toEqual(['a', 'b', 'c', '']);
    expect(await linesOf(['last line without newline'])).toEqual(['last line without newline']);
    expect(await linesOf([])).toEqual([]);
  });

  it('decodes a UTF-8 character split between chunks', async () => {
    const bytes = Buffer.from('né\n€x', 'utf8');
    expect(await linesOf([bytes.subarray(0, 2), bytes.subarray(2, 5), bytes.subarray(5)])).toEqual([
      'né',
      '€x',
    ]);
  });

  it('cuts an overlong line to maxChars + 1 characters and goes on with the next line', async () => {
    expect(await linesOf(['x'.repeat(50), 'y'.repeat(80), '\nnext\n'], 100)).toEqual([
      'x'.repeat(50) + 'y'.repeat(51),
      'next',
    ]);
  });
});

describe('warden redact with a line far longer than it scans', () => {
  it('redacts what it keeps, marks the cut, and carries on with the following lines', async () => {
    const stdout: string[] = [];
    const huge = `password=hunter2 ${'\u0000'.repeat(3 * 1024 * 1024)}`;
    const io: CliIo = {
      out: (l) => stdout.push(l),
      err: () => undefined,
      readStdin: async () => Buffer.from(`${huge}\nafter carol@example.com\n`, 'utf8'),
    };
    expect(await runCli(['node', 'warden', 'redact'], io)).toBe(0);
    expect(stdout).toHaveLength(2);
    expect(stdout[0]?.length).toBeLessThan(1_100_000);
    expect(stdout[0]).not.toContain('hunter2');
    expect(stdout[0]).toContain('[REDACTED:truncated]');
    expect(stdout[1]).toBe('after [REDACTED:email]');
  });
});
