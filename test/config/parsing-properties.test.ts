import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load-settings.js';
import * as parse from '../../src/config/parsers.js';
import { parseRfc3339 } from '../../src/config/rfc3339.js';
import { SETTING_DEFINITIONS } from '../../src/config/setting-definitions.js';
import { ConfigError } from '../../src/errors/index.js';
import { parsePolicyList } from '../../src/ratelimit/policy.js';

// Properties of settings parsing: any odd value of any variable (exponents, hex, full-width
// digits, bad CIDRs and URLs) fails only with a ConfigError whose lines name a variable, in
// every profile; secret parsers never echo key material.

const odd = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '1e3',
    '0x10',
    '5ms5',
    '+5',
    '5.0',
    '٥',
    '５',
    'Infinity',
    'NaN',
    '1_000',
    'Yes',
    'y',
    ' ',
    '1,2',
    'off',
    '10/1m block 5m',
    'sqlite:',
    'postgres://',
    '*',
    '127.0.0.1/33',
    '::1/129',
    '1.2.3.4/',
    '*.',
    'x:99999',
    '[::1]:80',
  ),
);

describe('configuration parsing', () => {
  it('loadSettings fails only with ConfigError, one line per problem naming a variable', () => {
    const defs = Object.values(SETTING_DEFINITIONS);
    fc.assert(
      fc.property(
        fc.constantFrom(...defs),
        odd,
        fc.constantFrom('development', 'production'),
        (def, value, profile) => {
          const env: Record<string, string> = { [def.name]: value };
          if (def.name !== 'WARDEN_ENV') env.WARDEN_ENV = profile;
          try {
            loadSettings({
              env,
              envFile: false,
              generateDevSecrets: false,
              cwd: '/tmp',
              refuseUnsafe: false,
            });
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            for (const p of (error as ConfigError).problems) expect(p).toMatch(/WARDEN_[A-Z_]+/);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('integer settings accept only (trimmed) decimal digits: no 1e3, 0x10, 5.0, full-width digits', () => {
    fc.assert(
      fc.property(odd, (v) => {
        let n: number | undefined;
        try {
          n = parse.integer(-1000, 1000)(v);
        } catch (e) {
          expect(e).toBeInstanceOf(parse.ParseProblem);
        }
        if (n !== undefined) expect(v.trim()).toMatch(/^-?[0-9]+$/);
      }),
      { numRuns: 500 },
    );
  });

  it('rate-limit policy lists throw only TypeError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789/smhd block,'), maxLength: 20 }), (v) => {
        try {
          parsePolicyList(v);
        } catch (e) {
          expect(e).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('RFC 3339 parse round-trips ISO strings', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(0), max: new Date(253402300799000), noInvalidDate: true }), (d) => {
        expect(parseRfc3339(d.toISOString())).toBe(d.getTime());
      }),
      { numRuns: 300 },
    );
  });
});
