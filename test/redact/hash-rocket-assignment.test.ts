import { describe, expect, it } from 'vitest';
import { createLineRedactor, defaultRedactor, redactText } from '../../src/redact/index.js';

// Ruby (Rails `Parameters: {...}` log lines, `inspect` of a Hash), PHP arrays and Perl write a
// key and its value with `=>`. The ASSIGNMENT regex takes the `=` of `=>` as the separator, so
// the "value" it redacts is the lone `>` and the real value right after it is left in clear,
// behind a hint that claims it was redacted.
describe('secret_assignment with a hash rocket (=>)', () => {
  it('redacts the value of a sensitive key in a Rails parameters line', () => {
    const line = 'Parameters: {"user"=>{"email"=>"bob@example.com", "password"=>"Hunter2isMyPw"}}';
    const out = redactText(line);
    expect(out).not.toContain('Hunter2isMyPw');
  });

  it('redacts PHP / Ruby / Perl style key => value pairs', () => {
    expect(redactText("'password' => 'Hunter2isMyPw',")).not.toContain('Hunter2isMyPw');
    expect(redactText(':client_secret => "wcsLikeValue123456"')).not.toContain('wcsLikeValue123456');
    expect(redactText('api_key => abcdef1234567890')).not.toContain('abcdef1234567890');
  });

  it('never writes a redaction hint next to the value it claims to have removed', () => {
    const out = redactText('"token" => "s3cr3t-value-42"');
    expect(out).not.toMatch(/\[REDACTED:secret_assignment\] "s3cr3t-value-42"/);
    expect(out).not.toContain('s3cr3t-value-42');
  });

  it('warden redact (the line redactor) removes the value too', () => {
    const lines = createLineRedactor(defaultRedactor);
    const out = lines.line('Started POST "/login" Parameters: {"password"=>"Hunter2isMyPw"}');
    expect(out).not.toContain('Hunter2isMyPw');
  });
});
