import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { nestsWithin } from './json-depth.js';

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: true, useDefaults: true, ...options });
  // TypeBox adds `kind`/`modifier` metadata keywords; teach Ajv to ignore them.
  ajv.addKeyword('kind').addKeyword('modifier');
  // `maxDepth: n` on an object or array (json-depth.ts): no deeper nesting than n levels, so a
  // free-form field cannot carry a value deep enough to overflow a recursive serializer.
  ajv.addKeyword({
    keyword: 'maxDepth',
    type: ['object', 'array'],
    schemaType: 'number',
    errors: true,
    compile: (limit: number) => {
      const message = `must not nest objects or arrays more than ${limit} levels deep`;
      const check: { (data: unknown): boolean; errors?: Partial<ErrorObject>[] } = (data) => {
        const ok = nestsWithin(data, limit);
        // A new error each time: Ajv writes the instance path into it.
        check.errors = ok ? [] : [{ keyword: 'maxDepth', message, params: { limit } }];
        return ok;
      };
      return check;
    },
  });
  (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
  return ajv;
}

// Bodies are JSON: types must match exactly. Query strings and path params are always
// strings on the wire, so they (and only they) are coerced to the schema's scalar types.
const bodyAjv = makeAjv({ coerceTypes: false, removeAdditional: false });
const urlAjv = makeAjv({ coerceTypes: true, removeAdditional: false });

/** Fastify validator compiler: strict for bodies, coercing for query/params/headers. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  httpPart === 'body' ? bodyAjv.compile(schema as object) : withPlainNumbers(schema as object, urlAjv.compile(schema as object));

// Ajv coerces whatever `+text` turns into a number: `?limit=0x10`, `1e1`, ` 5` and `5.` would
// all pass as numbers. A URL's number field must be written as a plain decimal; that holds for a
// number inside a union too (`integer | "last"`, `["integer", "null"]`), whose other branches
// still take the words they name.
const PLAIN_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const PLAIN_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

type Validate = { (data: unknown): boolean; errors?: ErrorObject[] | null };
type FieldSchema = { type?: unknown; anyOf?: FieldSchema[]; oneOf?: FieldSchema[] };

/** The numeric types a field's schema admits, in its own type, a type list, or a union's branches. */
function numericTypes(field: FieldSchema): Set<'integer' | 'number'> {
  const found = new Set<'integer' | 'number'>();
  const types = Array.isArray(field.type) ? field.type : [field.type];
  for (const type of types) if (type === 'integer' || type === 'number') found.add(type);
  for (const branch of [...(field.anyOf ?? []), ...(field.oneOf ?? [])]) for (const type of numericTypes(branch)) found.add(type);
  return found;
}

function withPlainNumbers(schema: object, validate: Validate): Validate {
  const properties = (schema as { properties?: Record<string, FieldSchema> }).properties ?? {};
  const numeric = Object.entries(properties).flatMap(([name, field]) => {
    const types = numericTypes(field);
    if (types.size === 0) return [];
    const type = types.has('number') ? 'number' : 'integer';
    return [{ name, type, pattern: type === 'number' ? PLAIN_NUMBER : PLAIN_INTEGER }];
  });
  if (numeric.length === 0) return validate;
  const check: Validate = (data) => {
    const values = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
    for (const { name, type, pattern } of numeric) {
      const value = values[name];
      // Text JavaScript reads as a number but that is no plain decimal; other words are left to
      // the schema (a union's literal branch, or its own type error).
      if (typeof value === 'string' && value !== '' && !pattern.test(value) && !Number.isNaN(Number(value))) {
        check.errors = [{ keyword: 'type', instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, params: { type }, message: `must be of type ${type}` }];
        return false;
      }
    }
    const valid = validate(data);
    check.errors = validate.errors;
    return valid;
  };
  return check;
}

/** Turns Ajv's first error into one precise sentence naming the field, e.g. `body.email must match format "email"`. */
export function describeValidationError(errors: readonly ErrorObject[], part: string): string {
  const first = errors[0];
  if (first === undefined) return `${part} is invalid`;
  const where = `${part}${first.instancePath.replace(/\//g, '.')}`;
  switch (first.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown field "${String(first.params.additionalProperty)}"`;
    case 'required':
      return `${where} is missing the required field "${String(first.params.missingProperty)}"`;
    case 'type':
      return `${where} must be of type ${String(first.params.type)}`;
    case 'const':
    case 'enum': {
      // A union of literals fails once per branch: list every allowed value, not Ajv's
      // "must be equal to constant" of the first branch.
      const allowed = errors
        .filter((e) => e.instancePath === first.instancePath && (e.keyword === 'const' || e.keyword === 'enum'))
        .flatMap((e) => (e.keyword === 'const' ? [e.params.allowedValue] : (e.params.allowedValues as unknown[])));
      return `${where} must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`;
    }
    default:
      return `${where} ${first.message ?? 'is invalid'}`;
  }
}

/** The field Ajv's first error is about, as `body.email` (the missing or unknown one where that is the error). */
export function validationField(errors: readonly ErrorObject[], part: string): string {
  const first = errors[0];
  if (first === undefined) return part;
  const where = `${part}${first.instancePath.replace(/\//g, '.')}`;
  if (first.keyword === 'required') return `${where}.${String(first.params.missingProperty)}`;
  if (first.keyword === 'additionalProperties') return `${where}.${String(first.params.additionalProperty)}`;
  return where;
}

/**
 * The sentence for a schema that failed because no body was sent (or an empty one): Ajv would
 * say "body must be of type object", which reads as if a body of the wrong type had arrived.
 */
export function describeMissingBody(errors: readonly ErrorObject[]): string {
  const first = errors[0];
  const type = first?.keyword === 'type' && first.instancePath === '' ? first.params.type : undefined;
  return typeof type === 'string' ? `body is required: send a JSON ${type}` : 'body is required';
}
