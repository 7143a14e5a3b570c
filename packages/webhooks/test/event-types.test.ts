import { exampleEvent } from '@herald/events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type HeraldEvent, isKnownEvent, parseHeraldEvent, type UnknownEvent, verifyWebhook } from '../src';
import { futureEventBody, secrets } from './support';

describe('parseHeraldEvent', () => {
  it('validates a catalog event with its version schema and drops unknown data fields', () => {
    const event = exampleEvent('user.deleted', { version: 1 });
    const result = parseHeraldEvent(JSON.stringify({ ...event, data: { ...event.data, passwordHash: 'x' } }));
    expect(result).toEqual({ ok: true, event });
  });

  it('refuses a v2 body under v1 (each version is checked against its own schema)', () => {
    const v2 = exampleEvent('user.deleted', { version: 2 });
    expect(parseHeraldEvent(JSON.stringify({ ...v2, version: 1 }))).toMatchObject({
      ok: false,
      rejection: { status: 400, code: 'invalid_payload' },
    });
    expect(parseHeraldEvent(JSON.stringify(v2))).toEqual({ ok: true, event: v2 });
  });

  it('keeps every field of an unknown event, including envelope fields added later', () => {
    const { body, envelope } = futureEventBody();
    expect(parseHeraldEvent(body)).toEqual({ ok: true, event: envelope });
  });

  it('refuses an unknown event without the envelope every Herald event has', () => {
    const { envelope } = futureEventBody();
    for (const broken of [
      { ...envelope, id: 'not-an-event-id' },
      { ...envelope, version: 0 },
      { ...envelope, timestamp: 'yesterday' },
      { ...envelope, data: undefined },
      [envelope],
    ]) {
      expect(parseHeraldEvent(JSON.stringify(broken))).toMatchObject({ ok: false, rejection: { status: 400 } });
    }
  });
});

describe('types', () => {
  it('narrows a known event on type (and version) to its exact data; an unknown one stays unknown', () => {
    const handle = (event: HeraldEvent) => {
      if (!isKnownEvent(event)) {
        expectTypeOf(event).toEqualTypeOf<UnknownEvent>();
        expectTypeOf(event.data).toBeUnknown();
        return;
      }
      switch (event.type) {
        case 'user.login.failed':
          expectTypeOf(event.data.reason).toEqualTypeOf<'invalid_password' | 'unknown_user' | 'user_locked'>();
          break;
        case 'user.deleted':
          if (event.version === 2) expectTypeOf(event.data.user).toEqualTypeOf<{ id: string }>();
          break;
      }
      expectTypeOf(event.subject).toEqualTypeOf<string | undefined>();
      expectTypeOf(event.sequence).toEqualTypeOf<number | undefined>();
    };
    handle(exampleEvent('user.login.failed'));
  });
});

describe('options', () => {
  it('refuses unusable secrets and settings when the handler is created, not per request', () => {
    const call = (options: Parameters<typeof verifyWebhook>[2]) => () => verifyWebhook('{}', {}, options);
    expect(call({ secrets: [] })).toThrow(/non-empty `secrets`/);
    expect(call({ secret: 'whsec_not base64!' })).toThrow(/standard base64/);
    expect(call({ secret: secrets.current, tolerance: -1 })).toThrow(RangeError);
    expect(call({ secret: secrets.current, maxBodyBytes: 0 })).toThrow(RangeError);
    expect(call({ secret: secrets.current })).not.toThrow();
  });
});
