import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  type AnyEvent,
  type EventData,
  type EventOf,
  type EventType,
  type EventVersion,
  type eventEnvelopeSchema,
  exampleEvent,
  getEventDefinition,
  parseEventData,
  safeParseEvent,
  type UserSnapshot,
} from '../src/index';

// These assertions are checked by `tsc --noEmit`; at run time they are no-ops.
describe('types', () => {
  it('infers event data from the zod schemas', () => {
    expectTypeOf<EventOf<'user.created'>['data']['user']['email']>().toEqualTypeOf<string>();
    expectTypeOf<EventData<'user.created'>>().toEqualTypeOf<{ user: UserSnapshot }>();
    expectTypeOf<EventData<'user.updated'>['changedFields']>().toEqualTypeOf<
      Array<'email' | 'name' | 'roles' | 'metadata' | 'status'>
    >();
    expectTypeOf<EventData<'user.login.failed'>['userId']>().toEqualTypeOf<string | null>();
    expectTypeOf<EventData<'endpoint.disabled'>['reason']>().toEqualTypeOf<'gone' | 'failing'>();
    expectTypeOf<UserSnapshot>().not.toHaveProperty('password');
  });

  it('types the envelope', () => {
    expectTypeOf<EventOf<'user.deleted'>['type']>().toEqualTypeOf<'user.deleted'>();
    expectTypeOf<EventOf<'user.deleted'>['version']>().toEqualTypeOf<2>();
    expectTypeOf<EventVersion<'user.deleted'>>().toEqualTypeOf<1 | 2>();
    expectTypeOf<EventData<'user.deleted'>>().toEqualTypeOf<{ user: { id: string } }>();
    expectTypeOf<EventData<'user.deleted', 1>>().toEqualTypeOf<{ user: UserSnapshot }>();
    expectTypeOf<z.output<ReturnType<typeof eventEnvelopeSchema<'user.created'>>>>().toEqualTypeOf<
      EventOf<'user.created'>
    >();
  });

  it('makes AnyEvent a union discriminated on type', () => {
    expectTypeOf<AnyEvent['type']>().toEqualTypeOf<EventType>();
    expectTypeOf<Extract<AnyEvent, { type: 'user.login.failed' }>>().toEqualTypeOf<EventOf<'user.login.failed'>>();
    const result = safeParseEvent({});
    if (result.success && result.data.type === 'endpoint.disabled') {
      expectTypeOf(result.data.data.url).toEqualTypeOf<string>();
    }
  });

  it('types the helpers by event type', () => {
    expectTypeOf<ReturnType<typeof parseEventData<'user.password.changed'>>>().toEqualTypeOf<
      EventData<'user.password.changed'>
    >();
    expectTypeOf<ReturnType<typeof exampleEvent<'user.login.succeeded'>>>().toEqualTypeOf<
      EventOf<'user.login.succeeded'>
    >();
    expectTypeOf(getEventDefinition('user.created').version).toEqualTypeOf<1>();
    // Never called: these only have to fail to compile.
    const invalidCalls = [
      // @ts-expect-error version 2 of user.created does not exist
      () => getEventDefinition('user.created', 2),
      // @ts-expect-error not an event type
      () => parseEventData('user.exploded', {}),
      // @ts-expect-error data must match the event type
      () => exampleEvent('user.password.changed', { data: { user: {} } }),
    ];
    expectTypeOf(invalidCalls).toBeArray();
  });
});
