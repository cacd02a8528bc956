import { describe, expect, it } from 'vitest';
import { redactText } from '../../src/redact/index.js';
import { expectRedacted, expectUntouched } from './corpus.js';

describe('email addresses', () => {
  it('redacts addresses in prose, JSON, angle brackets and URLs', () => {
    expectRedacted(
      [
        { text: 'login failed for alice@example.com', secret: 'alice@example.com' },
        { text: '{"user":"bob.smith+tag@mail.example.co.uk"}', secret: 'bob.smith+tag@mail.example.co.uk' },
        { text: 'From: Carol <carol_99@sub.domain.io>', secret: 'carol_99@sub.domain.io' },
        { text: '/v1/users?email=dave%40x.org&e=dave@x.org', secret: 'dave@x.org' },
        { text: 'UPPER@EXAMPLE.COM wrote', secret: 'UPPER@EXAMPLE.COM' },
      ],
      'email',
    );
  });

  it('keeps the rest of the line and the type hint', () => {
    expect(redactText('sent to eve@example.com at 10:00')).toBe('sent to [REDACTED:email] at 10:00');
  });

  it('leaves things that only look a little like addresses', () => {
    expectUntouched([
      'user@localhost',
      'npm i @fastify/cors@11.4.3',
      'git@ is a prefix',
      '@handle mention',
      'a @ b',
      'foo@bar',
    ]);
  });
});
