import { describe, expect, it } from 'vitest';
import { redactText, redactValue } from '../../src/redact/index.js';

/**
 * Any run of blanks after the separator is skipped for `secret_assignment` (aligned YAML and
 * tables), not for `secret_flag`: CLI help text aligns its descriptions with 4+ spaces, and the
 * first word of a sensitive flag's description is not its value.
 */
describe('secret_flag after the wide-separator change', () => {
  const help = [
    'Options:',
    '  --password       the password to use (prompted when absent)',
    '  --api-key        key to send with each request',
    '  --user           the user name',
  ].join('\n');

  it('keeps aligned CLI help text as it is', () => {
    expect(redactText(help)).toBe(help);
    expect(redactValue({ msg: help })).toEqual({ msg: help });
  });

  it('keeps `--password=` followed by blanks and the next flag, as before', () => {
    // Now the blanks are skipped and, the separator being `=`, `-v` is taken as the password.
    expect(redactText('--password=      -v')).toBe('--password=      -v');
  });

  it('still redacts an argv-style value after one space', () => {
    expect(redactText('run --password hunter2')).toBe('run --password [REDACTED:secret_flag]');
  });
});
