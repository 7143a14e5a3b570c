import { describe, expect, it } from 'vitest';
import { eventTypes, exampleEvent, exampleEventId, listEventDefinitions } from '../src/index';

/**
 * The rule of @herald/db's `idPattern` (`newId`'s output), which the API's id schemas check
 * (packages/router/src/procedures/id-schema.ts): the kind's prefix, `_`, 26 lowercase base32
 * characters. Written out rather than imported: @herald/events depends on no other Herald package
 * (its package.json lists zod only), and a test importing @herald/db would need it declared.
 * A sample id that breaks the rule reaches consumers in test deliveries (`POST
 * /v1/endpoints/{id}/test`, `herald trigger`): looking it up answers 400 validation_error, not 404.
 */
const idPrefixes = { user: 'usr', endpoint: 'ep', event: 'evt' } as const;
type IdKind = keyof typeof idPrefixes;
const idPattern = (kind: IdKind) => new RegExp(`^${idPrefixes[kind]}_[0-9a-z]{26}$`);

/** The kind of id a payload field holds, by its name (`id` by its parent's: `user.id`). */
const kindOfField: Record<string, IdKind> = { userId: 'user', endpointId: 'endpoint', user: 'user' };

/** Every id field of a payload, as `[path, kind or undefined, value]`. */
function idFields(value: unknown, path: string[] = []): [string, IdKind | undefined, unknown][] {
  if (Array.isArray(value)) return value.flatMap((item, index) => idFields(item, [...path, String(index)]));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const named = key === 'id' ? path.at(-1) : /Id$/.test(key) ? key : undefined;
    const own: [string, IdKind | undefined, unknown][] =
      key === 'id' || /Id$/.test(key) ? [[[...path, key].join('.'), kindOfField[named ?? ''], inner]] : [];
    return [...own, ...idFields(inner, [...path, key])];
  });
}

describe('sample ids are well-formed ids of their kind', () => {
  it.each(eventTypes)('%s: every id in every version’s example', (type) => {
    for (const definition of listEventDefinitions(type)) {
      const fields = idFields(definition.example);
      expect(fields.length, `${type} v${definition.version} has id fields`).toBeGreaterThan(0);
      for (const [path, kind, id] of fields) {
        // A field this test does not know: name its kind in kindOfField.
        expect(kind, `${type} v${definition.version}: ${path}`).toBeDefined();
        expect(id, `${type} v${definition.version}: ${path}`).toMatch(idPattern(kind!));
      }
    }
  });

  it('the example envelope’s id is an event id, its own for each type, and the same on every call', () => {
    const ids = eventTypes.map((type) => exampleEventId(type));
    for (const [index, type] of eventTypes.entries()) {
      expect(ids[index], type).toMatch(idPattern('event'));
      expect(exampleEvent(type).id).toBe(ids[index]);
      expect(exampleEventId(type)).toBe(ids[index]);
    }
    expect(new Set(ids).size).toBe(eventTypes.length);
  });

  it('the rule refuses the malformed ids the samples had', () => {
    expect('usr_2x8Kq4TnV1bPzR7mJc3Wd').not.toMatch(idPattern('user'));
    expect('ep_7Hc2LwQ9ZrT4mN1kV8sYb').not.toMatch(idPattern('endpoint'));
    expect('evt_example_user_created').not.toMatch(idPattern('event'));
  });
});
