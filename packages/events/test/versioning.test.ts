import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineEvent, eventVersions, getEventDefinition } from '../src/index';

// A hypothetical v2 of user.password.changed, to show the catalog shape
// supports adding versions without touching v1.
const v1 = getEventDefinition('user.password.changed');
const v2 = defineEvent({
  type: 'user.password.changed',
  version: 2,
  description: 'A user changed their password.',
  schema: z.object({ userId: z.string(), changedAt: z.iso.datetime(), method: z.enum(['reset', 'self']) }),
  example: { userId: 'usr_1', changedAt: '2025-01-01T00:00:00.000Z', method: 'self' },
  subject: (data) => data.userId,
});

describe('eventVersions', () => {
  it('keeps every version and points latestVersion at the newest', () => {
    const entry = eventVersions(v1, v2);
    expect(entry.latestVersion).toBe(2);
    expect(entry.versions[1]).toBe(v1);
    expect(entry.versions[2]).toBe(v2);
    expectTypeOf(entry.latestVersion).toEqualTypeOf<2>();
    expectTypeOf(entry.versions[1]).toEqualTypeOf<typeof v1>();
  });

  it('rejects versions out of order, duplicated or of another type', () => {
    expect(() => eventVersions(v2, v1)).toThrow(/ascending/);
    expect(() => eventVersions(v1, v1)).toThrow(/ascending/);
    expect(() => eventVersions(v1, getEventDefinition('user.created'))).toThrow(/mixed/);
  });

  it('keeps v1 data valid for v1 while v2 requires its new field', () => {
    expect(v1.schema.safeParse(v1.example).success).toBe(true);
    expect(v2.schema.safeParse(v1.example).success).toBe(false);
  });
});
