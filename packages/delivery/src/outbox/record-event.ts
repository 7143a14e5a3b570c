import type { Queryable } from '@herald/db';
import { deliveries, events, executeRows, idTimestamp, newId, newIdAt } from '@herald/db';
import type { EventData, EventType } from '@herald/events';
import { type EventDefinition, getEventDefinition } from '@herald/events';
import { sql } from 'drizzle-orm';
import { dueAt, subscribedEndpoints } from './event-statement';
import { nextSubjectSequence } from './subject-sequence';

export interface RecordedEvent {
  id: string;
  type: EventType;
  version: number;
  createdAt: Date;
  deliveryCount: number;
}

/**
 * Writes an event and fans it out to one pending delivery per enabled,
 * subscribed endpoint of its project. Call it inside the transaction of the
 * change it describes: a rolled-back change then leaves neither event nor
 * delivery behind (the transactional outbox). The event's subject comes from
 * its catalog definition; its `txid` (the feed's order) is filled in by the
 * database.
 */
export async function recordEvent<T extends EventType>(
  tx: Queryable,
  input: {
    projectId: string;
    type: T;
    data: EventData<T>;
    now?: Date;
    /** A test event: delivered to this endpoint only, and never listed. */
    testEndpointId?: string;
  },
): Promise<RecordedEvent> {
  // Widened: with several versions in the catalog, the types cannot follow a generic `T` into its definition.
  const definition = getEventDefinition(input.type) as EventDefinition;
  const data = definition.schema.parse(input.data);
  // Test events carry example data about no real resource: no subject, no place in a history.
  const subject = input.testEndpointId === undefined ? definition.subject(data) : null;
  const sequence = subject === null ? null : await nextSubjectSequence(tx, input.projectId, subject);
  const createdAt = input.now ?? new Date();
  const id = newId('event', createdAt.getTime());
  await tx.insert(events).values({
    id,
    projectId: input.projectId,
    type: input.type,
    version: definition.version,
    data,
    subject,
    sequence,
    isTest: input.testEndpointId !== undefined,
    createdAt,
  });
  const deliveryCount = await fanOut(tx, {
    eventId: id,
    projectId: input.projectId,
    type: input.type,
    subject,
    sequence,
    createdAt,
    onlyEndpointId: input.testEndpointId,
  });
  return { id, type: input.type, version: definition.version, createdAt, deliveryCount };
}

/** One INSERT … SELECT: no round trip per endpoint. */
async function fanOut(
  tx: Queryable,
  e: {
    eventId: string;
    projectId: string;
    type: string;
    subject: string | null;
    sequence: number | null;
    createdAt: Date;
    onlyEndpointId: string | undefined;
  },
): Promise<number> {
  const subscribed = await executeRows<{ id: string }>(
    tx,
    sql`select ep.id from endpoints ep where ${subscribedEndpoints(e.projectId, e.type, e.onlyEndpointId)}`,
  );
  if (subscribed.length === 0) return 0;
  await tx.insert(deliveries).values(
    subscribed.map((endpoint) => ({
      // The event's own time: its deliveries live in its day partition and leave with it.
      id: newIdAt('delivery', idTimestamp(e.eventId)!.getTime()),
      projectId: e.projectId,
      endpointId: endpoint.id,
      eventId: e.eventId,
      subject: e.subject,
      sequence: e.sequence,
      status: 'pending' as const,
      nextAttemptAt: dueAt(sql`${e.createdAt.toISOString()}::timestamptz`),
      createdAt: e.createdAt,
      updatedAt: e.createdAt,
    })),
  );
  return subscribed.length;
}
