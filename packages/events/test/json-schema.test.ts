import { describe, expect, it } from 'vitest';
import {
  catalogForApi,
  eventJsonSchemas,
  eventTypes,
  exampleEvent,
  getEventDefinition,
  type JsonSchema,
} from '../src/index';
import { validateJson } from './json-schema-validator';

const schemas = eventJsonSchemas();

function objectKeys(schema: JsonSchema): string[] {
  return Object.keys(schema.properties ?? {});
}

describe('eventJsonSchemas', () => {
  it('has an entry for every event type and nothing else', () => {
    expect(Object.keys(schemas).sort()).toEqual([...eventTypes].sort());
  });

  it('is plain JSON (no zod internals), so it can be served as is', () => {
    expect(JSON.parse(JSON.stringify(schemas))).toEqual(schemas);
    expect(Object.getOwnPropertyNames(schemas['user.created'].schema)).not.toContain('~standard');
  });

  it('returns fresh objects on every call', () => {
    expect(eventJsonSchemas()['user.created'].schema).not.toBe(schemas['user.created'].schema);
  });

  it('never forbids extra properties, so consumers may accept added fields', () => {
    expect(JSON.stringify(schemas)).not.toContain('"additionalProperties":false');
  });
});

describe.each(eventTypes)('JSON Schema of %s', (type) => {
  const entry = schemas[type];
  const definition = getEventDefinition(type);

  it('carries the description and version of the latest definition', () => {
    expect(entry.description).toBe(definition.description);
    expect(entry.version).toBe(definition.version);
  });

  it('describes data as an object requiring every example field', () => {
    expect(entry.schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(entry.schema.type).toBe('object');
    expect(entry.schema.required?.toSorted()).toEqual(Object.keys(definition.example).sort());
    expect(objectKeys(entry.schema).sort()).toEqual(Object.keys(definition.example).sort());
  });

  it('describes the envelope with a fixed type and version', () => {
    expect(entry.envelope.type).toBe('object');
    expect(entry.envelope.required).toEqual(['id', 'type', 'version', 'timestamp', 'data']);
    expect(entry.envelope.properties?.type).toMatchObject({ const: type });
    expect(entry.envelope.properties?.version).toMatchObject({ const: definition.version });
    const { $schema: _ignored, ...dataSchema } = entry.schema;
    expect(entry.envelope.properties?.data).toEqual(dataSchema);
  });

  it('accepts the example data and the example envelope', () => {
    expect(validateJson(entry.schema, definition.example)).toEqual([]);
    expect(validateJson(entry.envelope, exampleEvent(type))).toEqual([]);
  });

  it('rejects data that zod rejects', () => {
    expect(validateJson(entry.schema, null)).not.toEqual([]);
    expect(validateJson(entry.schema, {})).not.toEqual([]);
    const wrongType = { ...exampleEvent(type), type: 'user.exploded' };
    expect(validateJson(entry.envelope, wrongType)).not.toEqual([]);
    const offsetTimestamp = { ...exampleEvent(type), timestamp: '2025-01-15T10:30:00+01:00' };
    expect(validateJson(entry.envelope, offsetTimestamp)).not.toEqual([]);
  });
});

describe('JSON Schema checks nested constraints', () => {
  it('rejects a bad email and an empty changedFields list in user.updated', () => {
    const { schema } = schemas['user.updated'];
    const example = getEventDefinition('user.updated').example;
    const badEmail = { ...example, user: { ...example.user, email: 'nope' } };
    expect(validateJson(schema, badEmail)).toEqual([`$.user.email: does not match ${emailPattern()}`]);
    expect(validateJson(schema, { ...example, changedFields: [] })).toEqual(['$.changedFields: fewer than 1 items']);
  });
});

function emailPattern(): string {
  const user = schemas['user.updated'].schema.properties?.user as JsonSchema;
  return (user.properties?.email as JsonSchema | undefined)?.pattern ?? '';
}

describe('catalogForApi', () => {
  const catalog = catalogForApi();

  it('lists every type once, in eventTypes order', () => {
    expect(catalog.map((row) => row.type)).toEqual([...eventTypes]);
  });

  it('serves description, version, data schema and example for each type', () => {
    for (const row of catalog) {
      const definition = getEventDefinition(row.type);
      expect(row).toEqual({
        type: row.type,
        description: definition.description,
        version: definition.version,
        schema: schemas[row.type].schema,
        example: definition.example,
      });
      expect(validateJson(row.schema, row.example)).toEqual([]);
    }
  });

  it('is JSON-serialisable without loss', () => {
    expect(JSON.parse(JSON.stringify(catalog))).toEqual(catalog);
  });
});
