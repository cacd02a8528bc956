import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';

const ROOT = join(import.meta.dirname, '..');

/** The code of the README and docs/: fenced blocks line by line, and inline code spans. */
function codeOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const blocks = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].flatMap((match) => (match[1] as string).replace(/\\\n\s*/g, ' ').split('\n'));
  const prose = text.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1] as string);
  return [...blocks, ...spans];
}

/** Each `warden …` invocation in a piece of code, up to a comment, a pipe, a redirection or `&&`. */
function invocations(code: string): string[][] {
  // A placeholder (`<user-id>`) is a word, not a redirection.
  const words = code.replace(/<[A-Za-z][^<>\s]*>/g, 'PLACEHOLDER');
  return [...words.matchAll(/(?:^|[\s(])warden ([^#|<>&;`]*)/g)].map((match) => (match[1] as string).trim().split(/\s+/));
}

const program = buildProgram({ out: () => undefined, err: () => undefined, readStdin: async () => Buffer.alloc(0) }, () => undefined);

/** The command named by the leading words (a group and its subcommand), or undefined. */
function resolve(words: readonly string[]): { command: Command; path: string } | undefined {
  const top = program.commands.find((c) => c.name() === words[0]);
  if (top === undefined) return undefined;
  const sub = top.commands.find((c) => c.name() === words[1]);
  return sub === undefined ? { command: top, path: top.name() } : { command: sub, path: `${top.name()} ${sub.name()}` };
}

describe('the warden commands the README and docs/ show exist, with the flags they show', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const uses = files.flatMap((file) => codeOf(file).flatMap((code) => invocations(code).map((words) => ({ file, words }))));

  it('finds invocations (the extraction itself works)', () => {
    expect(uses.length).toBeGreaterThan(50);
  });

  it('names only commands and options the CLI has', () => {
    const problems: string[] = [];
    for (const { file, words } of uses) {
      // `warden --help` and the like: the program's own options.
      if (!/^[a-z][a-z-]*$/.test(words[0] ?? '')) continue;
      const found = resolve(words);
      if (found === undefined) {
        problems.push(`${file}: warden ${words.join(' ')}: no command "${words[0]}"`);
        continue;
      }
      const known = new Set(['--help', ...found.command.options.flatMap((o) => [o.long, o.negate ? o.long : undefined]).filter((f): f is string => f !== undefined)]);
      for (const word of words) {
        const flag = /^(--[a-z][a-z0-9-]*)/.exec(word)?.[1];
        if (flag !== undefined && !known.has(flag)) problems.push(`${file}: warden ${found.path}: no option ${flag}`);
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});
