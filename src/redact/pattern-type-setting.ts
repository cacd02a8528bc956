import { ParseProblem, type Parser } from '../config/parsers.js';
import { PATTERN_TYPES, type PatternType } from './value-patterns.js';

/** Parses `WARDEN_REDACT_DISABLED_PATTERNS`: comma-separated pattern types, each one known. */
export const parsePatternTypeList: Parser<readonly PatternType[]> = (raw) => {
  const types = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = types.filter((type) => !(PATTERN_TYPES as readonly string[]).includes(type));
  if (unknown.length > 0)
    throw new ParseProblem(
      `unknown pattern type(s) ${unknown.join(', ')}; known: ${PATTERN_TYPES.join(', ')}`,
    );
  return Object.freeze(types as PatternType[]);
};
