import { describe, expect, it } from 'vitest';
import { boundedMemo } from '../../src/cache/bounded-memo.js';

describe('boundedMemo', () => {
  it('computes each input once while it is remembered, falsy answers included', () => {
    const calls: string[] = [];
    const memo = boundedMemo((input) => {
      calls.push(input);
      return input === 'yes';
    }, 10);
    expect([memo('yes'), memo('no'), memo('yes'), memo('no')]).toEqual([true, false, true, false]);
    expect(calls).toEqual(['yes', 'no']);
  });

  it('remembers an undefined answer too', () => {
    let computed = 0;
    const memo = boundedMemo((): string | undefined => {
      computed += 1;
      return undefined;
    }, 10);
    expect([memo('x'), memo('x')]).toEqual([undefined, undefined]);
    expect(computed).toBe(1);
  });

  it('holds at most max answers and still answers correctly after forgetting', () => {
    let computed = 0;
    const memo = boundedMemo((input) => {
      computed += 1;
      return input.length;
    }, 3);
    for (const input of ['a', 'bb', 'ccc', 'dddd', 'a']) memo(input);
    // 'dddd' found the memo full and emptied it, so 'a' was computed again.
    expect(computed).toBe(5);
    expect(memo('a')).toBe(1);
    expect(computed).toBe(5);
    expect(memo('eeeee')).toBe(5);
  });
});
