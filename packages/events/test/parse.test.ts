import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  type EventType,
  eventTypes,
  exampleEvent,
  getEventDefinition,
  parseEventData,
  safeParseEvent,
  userSnapshotSchema,
} from '../src/index';

function exampleData(type: EventType): Record<string, unknown> {
  return structuredClone(getEventDefinition(type).example) as Record<string, unknown>;
}

const exampleUser = exampleData('user.created').user as Record<string, unknown>;

/** Invalid payloads per type: each is the example with one thing broken. */
const invalidData: Record<EventType, Array<[reason: string, data: unknown]>> = {
  'user.created': [
    ['missing user', {}],
    ['user is a string', { user: 'usr_1' }],
    ['invalid email', { user: { ...exampleUser, email: 'not-an-email' } }],
    ['unknown status', { user: { ...exampleUser, status: 'banned' } }],
    ['roles not an array', { user: { ...exampleUser, roles: 'admin' } }],
    ['name undefined instead of null', { user: { ...exampleUser, name: undefined } }],
    ['createdAt with offset', { user: { ...exampleUser, createdAt: '2025-01-15T10:30:00+01:00' } }],
    ['createdAt as epoch', { user: { ...exampleUser, createdAt: 1736933400000 } }],
    ['metadata is an array', { user: { ...exampleUser, metadata: [] } }],
  ],
  'user.updated': [
    ['empty changedFields', { user: exampleUser, changedFields: [] }],
    ['unknown changed field', { user: exampleUser, changedFields: ['password'] }],
    ['missing changedFields', { user: exampleUser }],
    ['missing user', { changedFields: ['name'] }],
  ],
  'user.deleted': [
    ['missing user', {}],
    ['user without id', { user: { ...exampleUser, id: undefined } }],
    ['empty user id', { user: { ...exampleUser, id: '' } }],
  ],
  'user.password.changed': [
    ['missing userId', { changedAt: '2025-01-01T00:00:00.000Z' }],
    ['changedAt not a date', { userId: 'usr_1', changedAt: 'yesterday' }],
    ['userId null', { userId: null, changedAt: '2025-01-01T00:00:00.000Z' }],
  ],
  'user.login.succeeded': [
    ['invalid email', { ...exampleData('user.login.succeeded'), email: 'ada' }],
    ['missing ipAddress', { ...exampleData('user.login.succeeded'), ipAddress: undefined }],
    ['userAgent a number', { ...exampleData('user.login.succeeded'), userAgent: 42 }],
    ['userId null', { ...exampleData('user.login.succeeded'), userId: null }],
  ],
  'user.login.failed': [
    ['unknown reason', { ...exampleData('user.login.failed'), reason: 'too_many_attempts' }],
    ['missing reason', { ...exampleData('user.login.failed'), reason: undefined }],
    ['missing userId', { ...exampleData('user.login.failed'), userId: undefined }],
  ],
  'endpoint.disabled': [
    ['unknown reason', { ...exampleData('endpoint.disabled'), reason: 'paused' }],
    ['url not a URL', { ...exampleData('endpoint.disabled'), url: 'hooks example com' }],
    ['disabledAt missing', { ...exampleData('endpoint.disabled'), disabledAt: undefined }],
  ],
};

describe.each(eventTypes)('parseEventData(%s)', (type) => {
  it.each(invalidData[type])('rejects %s with a ZodError', (_reason, data) => {
    expect(() => parseEventData(type, data)).toThrow(ZodError);
  });

  it('accepts and drops fields it does not know (forward compatibility)', () => {
    const parsed = parseEventData(type, { ...exampleData(type), addedInAMinorRelease: true });
    expect(parsed).toEqual(exampleData(type));
    expect(parsed).not.toHaveProperty('addedInAMinorRelease');
  });

  it('rejects any non-object data', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(null),
          fc.constant(undefined),
          fc.boolean(),
          fc.double(),
          fc.bigInt(),
          fc.string(),
          fc.array(fc.anything()),
        ),
        (data) => {
          expect(() => parseEventData(type, data)).toThrow(ZodError);
        },
      ),
    );
  });

  it('rejects the example with any one required field removed', () => {
    const example = exampleData(type);
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(example)), (field) => {
        const { [field]: _removed, ...rest } = example;
        expect(() => parseEventData(type, rest)).toThrow(ZodError);
      }),
    );
  });
});

describe('user snapshots never carry credentials', () => {
  it('strips password fields that a careless caller passes in', () => {
    const leaky = { ...exampleUser, password: 'hunter2', passwordHash: '$argon2id$v=19$...' };
    const parsed = parseEventData('user.created', { user: leaky });
    expect(parsed.user).not.toHaveProperty('password');
    expect(parsed.user).not.toHaveProperty('passwordHash');
    expect(JSON.stringify(parsed)).not.toContain('hunter2');
  });

  it('has no password-like field in its shape', () => {
    for (const key of Object.keys(userSnapshotSchema.shape)) {
      expect(key.toLowerCase()).not.toContain('password');
    }
  });
});

describe('safeParseEvent', () => {
  it.each(eventTypes)('accepts the example envelope of %s', (type) => {
    const event = exampleEvent(type);
    const result = safeParseEvent(JSON.parse(JSON.stringify(event)));
    expect(result.success).toBe(true);
    expect(result.data).toEqual(event);
  });

  it('narrows on type', () => {
    const result = safeParseEvent(exampleEvent('user.login.failed'));
    if (!result.success) throw result.error;
    const event = result.data;
    // Compiles only because `type` narrows `data`.
    const reason = event.type === 'user.login.failed' ? event.data.reason : undefined;
    expect(reason).toBe('invalid_password');
  });

  it('checks data against the schema of the declared type', () => {
    const mismatched = { ...exampleEvent('user.created'), type: 'endpoint.disabled' };
    expect(safeParseEvent(mismatched).success).toBe(false);
  });

  it.each<[string, Record<string, unknown>]>([
    ['unknown type', { type: 'user.exploded' }],
    ['unpublished version', { version: 2 }],
    ['string version', { version: '1' }],
    ['id without evt_ prefix', { id: 'msg_123' }],
    ['empty id suffix', { id: 'evt_' }],
    ['timestamp with offset', { timestamp: '2025-01-15T10:30:00+01:00' }],
    ['timestamp not ISO', { timestamp: 'Wed, 15 Jan 2025 09:30:00 GMT' }],
    ['missing data', { data: undefined }],
  ])('rejects an envelope with %s', (_reason, change) => {
    const event = { ...exampleEvent('user.created'), ...change };
    expect(safeParseEvent(event).success).toBe(false);
  });

  it('never throws and rejects arbitrary non-object input', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)),
        (input) => {
          expect(safeParseEvent(input).success).toBe(false);
        },
      ),
    );
  });

  it('never throws on arbitrary objects, and rejects those without a known type', () => {
    fc.assert(
      fc.property(fc.object(), (input) => {
        const result = safeParseEvent(input);
        if (!eventTypes.includes(input.type as EventType)) expect(result.success).toBe(false);
      }),
    );
  });
});
