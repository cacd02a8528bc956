import { ParseProblem, type Parser } from '../config/parsers.js';
import { messageOf } from '../errors/index.js';
import { parsePolicyList } from './policy.js';

/**
 * Settings parser for a policy list such as `100/60s` or `10/1m, 100/1h block 15m` (`off` =
 * none). The setting keeps the validated text (readable in docs and `warden config check`);
 * `parsePolicyList` turns it into policies where it is used.
 */
export const policyListSetting: Parser<string> = (raw) => {
  // A blank value would mean "no limit" without saying so (and without production's warning for
  // `off`): switching a limit off is spelt out.
  if (raw.trim() === '') throw new ParseProblem('must not be empty: give limits such as 100/60s, or off to disable the limit');
  try {
    parsePolicyList(raw);
    return raw.trim();
  } catch (error) {
    throw new ParseProblem(messageOf(error));
  }
};
