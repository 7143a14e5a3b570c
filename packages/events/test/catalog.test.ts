import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  eventCatalog,
  eventTypes,
  findEventDefinition,
  getEventDefinition,
  isEventType,
  listEventDefinitions,
  parseEventData,
} from '../src/index';

describe('eventTypes', () => {
  it('lists exactly the catalog keys, without duplicates', () => {
    expect([...eventTypes].sort()).toEqual(Object.keys(eventCatalog).sort());
    expect(new Set(eventTypes).size).toBe(eventTypes.length);
  });

  it('works as a zod enum', () => {
    const eventTypeSchema = z.enum(eventTypes);
    expect(eventTypeSchema.parse('user.created')).toBe('user.created');
    expect(eventTypeSchema.safeParse('user.exploded').success).toBe(false);
  });

  it('isEventType recognises catalog types only', () => {
    for (const type of eventTypes) expect(isEventType(type)).toBe(true);
    for (const other of ['', 'user', 'USER.CREATED', 'user.created ', 'toString', '__proto__']) {
      expect(isEventType(other)).toBe(false);
    }
  });
});

describe.each(eventTypes)('catalog entry %s', (type) => {
  const entry = eventCatalog[type];
  const definitions = listEventDefinitions(type);

  it('has latestVersion among its versions (user.deleted is at 2, every other type at 1)', () => {
    const expected = type === 'user.deleted' ? 2 : 1;
    expect(entry.latestVersion).toBe(expected);
    expect(Object.keys(entry.versions)).toEqual(Array.from({ length: expected }, (_, i) => String(i + 1)));
    expect(getEventDefinition(type).version).toBe(entry.latestVersion);
  });

  it('keys each definition by its own type and version', () => {
    for (const definition of definitions) {
      expect(definition.type).toBe(type);
      expect(getEventDefinition(type, definition.version as 1)).toBe(definition);
    }
  });

  it('has a one-sentence description', () => {
    for (const { description } of definitions) {
      expect(description).toMatch(/^[A-Z`].*\.$/);
      expect(description).not.toContain('\n');
      expect(description.length).toBeLessThan(120);
    }
  });

  it('has an example that passes its schema unchanged', () => {
    for (const definition of definitions) {
      expect(definition.schema.parse(definition.example)).toEqual(definition.example);
    }
  });

  it('has an example that survives a JSON round trip', () => {
    for (const definition of definitions) {
      const roundTripped: unknown = JSON.parse(JSON.stringify(definition.example));
      expect(roundTripped).toEqual(definition.example);
      expect(parseEventData(type, roundTripped, definition.version as 1)).toEqual(definition.example);
    }
  });
});

describe('getEventDefinition / findEventDefinition', () => {
  it('defaults to the latest version', () => {
    expect(getEventDefinition('user.created')).toBe(eventCatalog['user.created'].versions[1]);
  });

  it('throws a RangeError for versions or types that bypass the types', () => {
    expect(() => getEventDefinition('user.created', 2 as 1)).toThrow(RangeError);
    expect(() => getEventDefinition('user.nope' as 'user.created')).toThrow(RangeError);
  });

  it('returns undefined for unpublished values read at runtime', () => {
    expect(findEventDefinition('user.created', 1)?.type).toBe('user.created');
    expect(findEventDefinition('user.created')?.version).toBe(1);
    expect(findEventDefinition('user.created', 7)).toBeUndefined();
    expect(findEventDefinition('constructor')).toBeUndefined();
  });

  it('cannot be mutated at runtime', () => {
    expect(Object.isFrozen(eventCatalog)).toBe(true);
    expect(Object.isFrozen(eventCatalog['user.created'].versions)).toBe(true);
    expect(Object.isFrozen(getEventDefinition('user.created'))).toBe(true);
    const { example } = getEventDefinition('user.created');
    expect(() => example.user.roles.push('intruder')).toThrow(TypeError);
  });
});
