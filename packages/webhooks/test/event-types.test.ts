import { exampleEvent } from '@herald/events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type HeraldEvent, isKnownEvent, parseHeraldEvent, type UnknownEvent, verifyWebhook } from '../src';
import { heraldWebhook as expressHandler } from '../src/express';
import { heraldWebhook as fastifyPlugin } from '../src/fastify';
import { heraldWebhook as honoHandler } from '../src/hono';
import { heraldWebhook as webHandler } from '../src/web';
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

  it('refuses a secret whose key is not 24 to 64 bytes at creation, in every adapter, without quoting it', () => {
    const truncated = 'whsec_MfKQ9r8GKYqr'; // the reference secret cut after 12 base64 characters: 9 bytes
    const tooShort = `whsec_${Buffer.alloc(23, 7).toString('base64')}`;
    const tooLong = `whsec_${Buffer.alloc(65, 7).toString('base64')}`;
    const onEvent = () => {};
    const create = [
      (secret: string) => verifyWebhook('{}', {}, { secret }),
      (secret: string) => webHandler({ secret, onEvent }),
      (secret: string) => expressHandler({ secret, onEvent }),
      (secret: string) => honoHandler({ secret, onEvent }),
      (secret: string) => fastifyPlugin({ secret, onEvent }),
    ];
    for (const [secret, bytes] of [
      [truncated, 9],
      [tooShort, 23],
      [tooLong, 65],
    ] as const) {
      for (const handler of create) {
        const error = catchError(() => handler(secret));
        expect(error).toMatchObject({ name: 'WebhookVerificationError', code: 'invalid_secret' });
        expect(error.message).toContain(`\`secret\` decodes to ${bytes} bytes`);
        expect(error.message).not.toContain(secret.slice('whsec_'.length, 'whsec_'.length + 8));
      }
    }
    expect(catchError(() => webHandler({ secrets: [secrets.current, truncated], onEvent })).message).toContain(
      '`secrets[1]` decodes to 9 bytes',
    );
    for (const bytes of [24, 64]) {
      const secret = `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;
      for (const handler of create) expect(() => handler(secret)).not.toThrow();
    }
  });
});

function catchError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
