import { describe, expect, it } from 'vitest';
import { filterErrorLines, isErrorLine } from '../../src/resilience/error-line-filter.js';

describe('error-level line filter', () => {
  it('understands pino JSON levels and other JSON loggers', () => {
    expect(isErrorLine('{"level":50,"msg":"db down"}')).toBe(true);
    expect(isErrorLine('{"level":60,"msg":"fatal"}')).toBe(true);
    expect(isErrorLine('{"level":40,"msg":"an error-ish warning"}')).toBe(false);
    expect(isErrorLine('{"level":30,"msg":"ERROR in the message does not count"}')).toBe(false);
    expect(isErrorLine('{"severity":"ERROR","message":"x"}')).toBe(true);
    expect(isErrorLine('{"level":"info","message":"x"}')).toBe(false);
  });

  it('understands plain-text level markers', () => {
    for (const line of [
      '2026-11-23 10:00:00 ERROR db timeout',
      '[error] upstream closed',
      'level=error msg="boom"',
      'E1123 10:00:00.000 glog style <E>',
      'FATAL: password authentication failed',
      'Traceback (most recent call last):',
      'TypeError: x is not a function',
    ]) {
      expect(isErrorLine(line), line).toBe(true);
    }
    for (const line of [
      'INFO started',
      'no errors found',
      'level=info msg="error budget ok"',
      'WARN slow query',
    ]) {
      expect(isErrorLine(line), line).toBe(false);
    }
  });

  it('keeps stack frames after an error line and drops everything else', () => {
    const lines = [
      'INFO ok',
      'ERROR boom',
      '    at f (a.js:1:1)',
      '    at g (b.js:2:2)',
      'INFO next',
      '    at not-a-frame-of-an-error',
    ];
    expect(filterErrorLines(lines, { maxLines: 10 })).toEqual([
      'ERROR boom',
      '    at f (a.js:1:1)',
      '    at g (b.js:2:2)',
    ]);
  });

  it('splits multi-line entries and keeps only the newest maxLines', () => {
    expect(filterErrorLines(['ERROR 1\nERROR 2', 'ERROR 3'], { maxLines: 2 })).toEqual([
      'ERROR 2',
      'ERROR 3',
    ]);
  });
});
