import { Type } from '@sinclair/typebox';
import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { describeValidationError, validationField, validatorCompiler } from '../../src/http/validation.js';
import { createTestApp } from '../helpers/app.js';

/** The errors the route validator reports for `value` against `schema`, as Fastify sees them. */
function errorsOf(schema: object, value: unknown): ErrorObject[] {
  const validate = validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '/x' }) as ((v: unknown) => boolean) & { errors?: ErrorObject[] };
  expect(validate(value)).toBe(false);
  return validate.errors ?? [];
}

describe('validation messages name the field and what it takes', () => {
  const body = Type.Object(
    { environment: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('test')])), mode: Type.Optional(Type.String({ enum: ['a', 'b'] })), name: Type.String() },
    { additionalProperties: false },
  );

  it('lists every allowed value of a union of literals, not "must be equal to constant"', () => {
    const errors = errorsOf(body, { name: 'x', environment: 'prod' });
    expect(describeValidationError(errors, 'body')).toBe('body.environment must be one of "live", "test"');
    expect(validationField(errors, 'body')).toBe('body.environment');
  });

  it('lists the values of an enum', () => {
    expect(describeValidationError(errorsOf(body, { name: 'x', mode: 'c' }), 'body')).toBe('body.mode must be one of "a", "b"');
  });

  it('names the missing or unknown field itself as the field', () => {
    expect(validationField(errorsOf(body, {}), 'body')).toBe('body.name');
    expect(validationField(errorsOf(body, { name: 'x', extra: 1 }), 'body')).toBe('body.extra');
  });
});

it('a schema refusal carries `field`, as the domain refusals do', async () => {
  const t = await createTestApp();
  try {
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'a@example.test' } });
    expect(response.json()).toMatchObject({ status: 400, code: 'validation_failed', detail: 'body is missing the required field "password"', field: 'body.password' });
  } finally {
    await t.close();
  }
});
