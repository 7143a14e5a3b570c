import { describe, expect, it } from 'vitest';
import {
  ERASED_EMAIL,
  erasedEventData,
  eventTypes,
  getEventDefinition,
  listEventDefinitions,
  subjectOf,
} from '../src/index';

/** Every string in a JSON value, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

const userId = 'usr_01jhmmrqe0zedg4w0z64pn0jwk';

describe('subjectOf', () => {
  it("names the user for user.* events and the endpoint for endpoint.*, from every version's example", () => {
    for (const type of eventTypes) {
      for (const definition of listEventDefinitions(type)) {
        const expected = type.startsWith('user.') ? userId : 'ep_01jn8s7qg03xj6ghjezgxnff44';
        expect(subjectOf(type, definition.example, definition.version), `${type} v${definition.version}`).toBe(
          expected,
        );
      }
    }
  });

  it('is null for a failed login of an unknown email, and for types outside the catalog', () => {
    const failed = { ...getEventDefinition('user.login.failed').example, userId: null, reason: 'unknown_user' };
    expect(subjectOf('user.login.failed', failed)).toBeNull();
    expect(subjectOf('user.exploded', { userId })).toBeNull();
  });
});

describe('erasedEventData', () => {
  const personal = {
    'user.created': ['ada@example.com', 'Ada Lovelace', 'plan', 'pro'],
    'user.updated': ['ada@example.com', 'Ada King', 'plan', 'pro'],
    'user.login.succeeded': [
      'ada@example.com',
      '203.0.113.7',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15',
    ],
    'user.login.failed': ['ada@example.com', '198.51.100.23', 'curl/8.7.1'],
  } as const;

  it.each(Object.entries(personal))(
    '%s: no personal value survives, ids, roles, reasons and timestamps do, and the result passes the schema',
    (type, values) => {
      const definition = getEventDefinition(type as keyof typeof personal);
      const erased = erasedEventData(type, definition.version, definition.example);
      expect(definition.schema.safeParse(erased).success).toBe(true);
      for (const value of values) expect(strings(erased)).not.toContain(value);
      expect(strings(erased)).toContain(userId);
      expect(strings(erased)).toContain(ERASED_EMAIL);
      const kept = strings(definition.example).filter((s) => !(values as readonly string[]).includes(s));
      for (const value of kept) {
        if (!['name', 'email', 'ipAddress', 'userAgent'].includes(value)) expect(strings(erased)).toContain(value);
      }
    },
  );

  it('erases stored user.deleted v1 snapshots too; v2 carries only the id', () => {
    const v1 = getEventDefinition('user.deleted', 1);
    const erased = erasedEventData('user.deleted', 1, v1.example) as { user: Record<string, unknown> };
    expect(erased.user).toMatchObject({ id: userId, email: ERASED_EMAIL, name: null, metadata: {}, roles: ['admin'] });
    expect(v1.schema.safeParse(erased).success).toBe(true);

    const v2 = getEventDefinition('user.deleted');
    expect(v2.example).toEqual({ user: { id: userId } });
    expect(erasedEventData('user.deleted', 2, v2.example)).toEqual(v2.example);
  });

  it('leaves payloads without personal data as they are, and refuses what it cannot read', () => {
    const changed = getEventDefinition('user.password.changed').example;
    expect(erasedEventData('user.password.changed', 1, changed)).toBe(changed);
    const disabled = getEventDefinition('endpoint.disabled').example;
    expect(erasedEventData('endpoint.disabled', 1, disabled)).toBe(disabled);
    expect(() => erasedEventData('user.created', 1, { user: { id: userId } })).toThrow();
    expect(() => erasedEventData('user.created', 9, {})).toThrow(RangeError);
  });

  it('is idempotent', () => {
    const definition = getEventDefinition('user.login.failed');
    const once = erasedEventData('user.login.failed', 1, definition.example);
    expect(erasedEventData('user.login.failed', 1, once)).toEqual(once);
  });
});
