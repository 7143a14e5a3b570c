import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  eventEnvelopeSchema,
  eventTypes,
  exampleEvent,
  exampleEventId,
  exampleEventTimestamp,
  getEventDefinition,
} from '../src/index';

describe.each(eventTypes)('exampleEvent(%s)', (type) => {
  it('builds a full, valid envelope from the catalog example', () => {
    const event = exampleEvent(type);
    expect(event).toEqual({
      id: exampleEventId(type),
      type,
      version: getEventDefinition(type).version,
      timestamp: exampleEventTimestamp,
      data: getEventDefinition(type).example,
    });
    expect(eventEnvelopeSchema(type).parse(event)).toEqual(event);
  });

  it('is deterministic, so docs and snapshots stay stable', () => {
    expect(exampleEvent(type)).toEqual(exampleEvent(type));
  });
});

describe('exampleEvent overrides', () => {
  it('replaces id and timestamp for a real "send test event" delivery', () => {
    const event = exampleEvent('user.created', {
      id: 'evt_01JH6Z8Q4R2W3E5T7Y9U1I3O5P',
      timestamp: '2025-06-01T00:00:00.000Z',
    });
    expect(event.id).toBe('evt_01JH6Z8Q4R2W3E5T7Y9U1I3O5P');
    expect(event.timestamp).toBe('2025-06-01T00:00:00.000Z');
    expect(event.data).toEqual(getEventDefinition('user.created').example);
  });

  it('replaces data', () => {
    const data = { userId: 'usr_9', changedAt: '2025-06-01T00:00:00.000Z' };
    expect(exampleEvent('user.password.changed', { data }).data).toEqual(data);
  });

  it('selects an explicit version', () => {
    expect(exampleEvent('user.updated', { version: 1 }).version).toBe(1);
  });

  it('validates overrides', () => {
    expect(() => exampleEvent('user.created', { id: 'not-an-event-id' })).toThrow(ZodError);
    expect(() => exampleEvent('user.created', { timestamp: 'now' })).toThrow(ZodError);
    expect(() => exampleEvent('user.password.changed', { data: { userId: '', changedAt: 'x' } })).toThrow(ZodError);
  });

  it('returns a fresh copy that does not alias the catalog', () => {
    const event = exampleEvent('user.created');
    event.data.user.roles.push('intruder');
    event.data.user.metadata.plan = 'free';
    expect(getEventDefinition('user.created').example.user.roles).toEqual(['admin']);
    expect(getEventDefinition('user.created').example.user.metadata).toEqual({ plan: 'pro' });
  });
});
