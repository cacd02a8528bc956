import { describe, it } from 'vitest';
import { expectRedacted, expectUntouched } from './corpus.js';

// Built by concatenation so that secret scanners do not flag this file.
const gh = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const ghFine = 'github_pat_' + '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP';
const stripe = 'sk_' + 'live_' + '4eC39HqLyjWDarjtT1zdp7dc';
const stripeTest = 'rk_' + 'test_' + '51H8abcdefghijKLMNOP';
const slack = 'xox' + 'b-' + '1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx';
const aws = 'AKIA' + 'IOSFODNN7EXAMPLE';
const openai = 'sk-' + 'proj-' + 'abcdefghijklmnopqrstuvwxyz012345';
const google = 'AIza' + 'SyA-1234567890abcdefghijklmnopqrstu';
const warden = 'wdn_' + 'live_' + 'Q2hlY2tpbmdUaGlzSXNSYW5kb20';

describe('provider and Warden API keys', () => {
  it('redacts AWS and Google key ids made only of letters (no digit or punctuation to hint at them)', () => {
    expectRedacted(
      [{ text: 'id ' + 'AKIA' + 'QWERTYUIOPASDFGH', secret: 'QWERTYUIOPASDFGH' }],
      'aws_access_key',
    );
    expectRedacted(
      [{ text: 'AIza' + 'SyAbcdefghijklmnopqrstuvwxyzABCDEFG', secret: 'SyAbcdefghijklmnop' }],
      'google_api_key',
    );
  });
  it('redacts AWS access key ids', () =>
    expectRedacted(
      [
        { text: `aws_key_id=${aws}x`.replace('x', ''), secret: aws },
        { text: `id ${aws} used`, secret: aws },
      ],
      'aws_access_key',
    ));
  it('redacts GitHub tokens (classic and fine-grained)', () =>
    expectRedacted(
      [
        { text: `git push with ${gh}`, secret: gh },
        { text: `token ${ghFine}`, secret: ghFine },
      ],
      'github_token',
    ));
  it('redacts Stripe keys', () =>
    expectRedacted(
      [
        { text: `stripe ${stripe}`, secret: stripe },
        { text: `"${stripeTest}"`, secret: stripeTest },
      ],
      'stripe_key',
    ));
  it('redacts Slack tokens and webhooks', () =>
    expectRedacted(
      [
        { text: `slack ${slack}`, secret: slack },
        {
          text: 'POST https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX',
          secret: 'T000/B000/XXXXXXXXXXXX',
        },
      ],
      'slack_token',
    ));
  it('redacts OpenAI-style and Google API keys', () => {
    expectRedacted([{ text: `llm ${openai}`, secret: openai }], 'openai_key');
    expectRedacted([{ text: `maps ${google}`, secret: google }], 'google_api_key');
  });
  it('redacts Warden API keys', () =>
    expectRedacted([{ text: `X-API-Key ${warden} denied`, secret: warden }], 'warden_api_key'));

  it('leaves look-alikes alone', () => {
    expectUntouched([
      'AKIA is the prefix of AWS key ids',
      'AKIAIOSFODNN7EXAMPL (19 chars)',
      'ghp_short',
      'sk_live_ is a prefix',
      'xoxb- prefix only',
      'task-1234 sk-short',
      'wdn_ alone',
      'the sky-high building',
    ]);
  });
});
