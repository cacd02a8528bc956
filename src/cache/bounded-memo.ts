/**
 * Wraps a pure function of a string with a memo of recent answers. Hot paths ask the same few
 * questions on every request (the Host header, the client address, the route's permission);
 * the inputs are the client's to choose, so the memo is bounded: when it holds `max` entries
 * it is emptied and starts again (cheaper per call than LRU bookkeeping, and a flood of new
 * values costs nothing but recomputation).
 */
export function boundedMemo<T>(compute: (input: string) => T, max: number): (input: string) => T {
  const answers = new Map<string, T>();
  return (input) => {
    // One lookup on a hit; `has` only settles a remembered `undefined`.
    const known = answers.get(input);
    if (known !== undefined || answers.has(input)) return known as T;
    const answer = compute(input);
    if (answers.size >= max) answers.clear();
    answers.set(input, answer);
    return answer;
  };
}
