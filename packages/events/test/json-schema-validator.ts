import type { JsonSchema } from '../src/index';

/**
 * A deliberately tiny JSON Schema validator covering exactly the keywords
 * zod emits for this catalog. Unknown keywords throw, so a schema change that
 * introduces one fails loudly instead of being silently unchecked.
 * `format` is an annotation in draft 2020-12, so it is skipped; zod also
 * emits a `pattern` for the formats that matter here (email, date-time).
 */
const annotationKeywords = new Set(['$schema', 'description', 'format', 'title']);

export function validateJson(schema: JsonSchema | boolean, value: unknown, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value allowed`];
  const errors: string[] = [];
  for (const [keyword, argument] of Object.entries(schema)) {
    if (annotationKeywords.has(keyword)) continue;
    const check = keywordChecks[keyword];
    if (check === undefined) throw new Error(`validateJson: unsupported keyword ${keyword}`);
    errors.push(...check(argument as never, value, path, schema));
  }
  return errors;
}

type KeywordCheck = (argument: never, value: unknown, path: string, schema: JsonSchema) => string[];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

const keywordChecks: Record<string, KeywordCheck> = {
  type: (type: string | string[], value, path) => {
    const types = Array.isArray(type) ? type : [type];
    return types.some((t) => hasType(value, t)) ? [] : [`${path}: expected ${types.join('|')}`];
  },
  const: (expected: unknown, value, path) =>
    value === expected ? [] : [`${path}: expected ${JSON.stringify(expected)}`],
  enum: (options: unknown[], value, path) =>
    options.includes(value) ? [] : [`${path}: not one of ${JSON.stringify(options)}`],
  pattern: (pattern: string, value, path) =>
    typeof value !== 'string' || new RegExp(pattern, 'u').test(value) ? [] : [`${path}: does not match ${pattern}`],
  minLength: (min: number, value, path) =>
    typeof value !== 'string' || [...value].length >= min ? [] : [`${path}: shorter than ${min}`],
  minItems: (min: number, value, path) =>
    !Array.isArray(value) || value.length >= min ? [] : [`${path}: fewer than ${min} items`],
  items: (itemSchema: JsonSchema, value, path) =>
    Array.isArray(value) ? value.flatMap((item, index) => validateJson(itemSchema, item, `${path}[${index}]`)) : [],
  required: (keys: string[], value, path) =>
    isPlainObject(value)
      ? keys.filter((key) => !Object.hasOwn(value, key)).map((key) => `${path}.${key}: required`)
      : [],
  properties: (properties: Record<string, JsonSchema>, value, path) =>
    isPlainObject(value)
      ? Object.entries(properties).flatMap(([key, propertySchema]) =>
          Object.hasOwn(value, key) ? validateJson(propertySchema, value[key], `${path}.${key}`) : [],
        )
      : [],
  additionalProperties: (extra: JsonSchema | boolean, value, path, schema) => {
    if (!isPlainObject(value)) return [];
    const declared = Object.keys(schema.properties ?? {});
    return Object.keys(value)
      .filter((key) => !declared.includes(key))
      .flatMap((key) => validateJson(extra, value[key], `${path}.${key}`));
  },
  propertyNames: (nameSchema: JsonSchema, value, path) =>
    isPlainObject(value) ? Object.keys(value).flatMap((key) => validateJson(nameSchema, key, `${path}{${key}}`)) : [],
  anyOf: (options: JsonSchema[], value, path) =>
    options.some((option) => validateJson(option, value, path).length === 0) ? [] : [`${path}: matches none of anyOf`],
  oneOf: (options: JsonSchema[], value, path) =>
    options.filter((option) => validateJson(option, value, path).length === 0).length === 1
      ? []
      : [`${path}: does not match exactly one of oneOf`],
};
