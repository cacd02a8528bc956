import { describe, expect, it } from 'vitest';
import {
  createRemoteTokenVerifier,
  type RemoteTokenVerifierOptions,
} from '../../src/identity/remote-token-verifier.js';

/**
 * The remote verifier's numeric options are security bounds (token and JWKS size caps, how long a
 * stale key set may stand in, the clock skew). A value that is not a finite number in range —
 * NaN is what `Number(process.env.UNSET)` gives — is refused when the verifier is created,
 * naming the option, instead of silently switching the bound off.
 */
describe('createRemoteTokenVerifier refuses a bound that is not a finite number in range', () => {
  const create = (options: Partial<RemoteTokenVerifierOptions>) => () =>
    createRemoteTokenVerifier({
      jwksUrl: 'https://auth.example.test/.well-known/jwks.json',
      issuer: 'warden',
      audience: 'warden',
      ...options,
    });

  const cases: [keyof RemoteTokenVerifierOptions, number][] = [
    ['jwksMaxStaleMs', Number.NaN],
    ['jwksMaxStaleMs', Number.POSITIVE_INFINITY],
    ['maxJwksBytes', Number.NaN],
    ['maxJwksBytes', 0],
    ['maxBytes', Number.NaN],
    ['maxBytes', -1],
    ['clockSkewSeconds', Number.NaN],
    ['clockSkewSeconds', -5],
    ['jwksCooldownMs', Number.NaN],
    ['jwksMaxAgeMs', Number.NEGATIVE_INFINITY],
  ];
  it.each(cases)('%s = %s', (name, value) => {
    expect(create({ [name]: value })).toThrow(new RegExp(`^${name} must be a finite`));
  });

  it('accepts finite values in range, zero where a bound may be zero', () => {
    expect(
      create({ jwksMaxStaleMs: 0, clockSkewSeconds: 0, jwksCooldownMs: 0, maxBytes: 4096, maxJwksBytes: 1 }),
    ).not.toThrow();
  });
});
