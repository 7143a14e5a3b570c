import { ID_RANDOM_PART_SQL, idTimeBound, idTimestamp, newId } from '@herald/db';
import type { EventData, EventType } from '@herald/events';
import { type EventDefinition, getEventDefinition } from '@herald/events';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

export interface EventStatement {
  /**
   * Common table expressions that record the event and its deliveries, to follow
   * `with <the change> as (…),` in the one statement that makes the change: `herald_sequence`
   * (when the event has a subject), `herald_event`, `herald_deliveries`.
   */
  ctes: SQL;
  /** The number of deliveries made, as an expression for the statement's select list. */
  deliveryCount: SQL;
  event: { id: string; type: EventType; version: number; createdAt: Date };
}

/**
 * `recordEvent` as part of one statement: the subject's next sequence, the event and its
 * fan-out (one pending delivery per enabled, subscribed endpoint) as CTEs of the statement
 * that makes the change, so a change and its event are written in one round trip and one
 * implicit transaction, with `recordEvent`'s guarantees: the subject's counter row stays locked
 * until that transaction ends (sequences follow commit order), and a failed change leaves
 * neither event nor delivery. Delivery ids are minted by the database at the event id's time
 * (its day partition).
 */
export function eventStatement<T extends EventType>(input: {
  projectId: string;
  type: T;
  data: EventData<T>;
  now?: Date;
}): EventStatement {
  const definition = getEventDefinition(input.type) as EventDefinition;
  const data = definition.schema.parse(input.data);
  const subject = definition.subject(data);
  const createdAt = input.now ?? new Date();
  const id = newId('event', createdAt.getTime());
  const at = sql`${createdAt.toISOString()}::timestamptz`;
  const { projectId, type } = input;
  const sequence = subject === null ? sql`null::bigint` : sql`(select last_sequence from herald_sequence)`;
  const sequenceCte =
    subject === null
      ? sql``
      : sql`herald_sequence as (
          insert into subject_sequences (project_id, subject, last_sequence) values (${projectId}, ${subject}, 1)
          on conflict (project_id, subject) do update set last_sequence = subject_sequences.last_sequence + 1
          returning last_sequence
        ),`;
  const ctes = sql`${sequenceCte}
      herald_event as (
        insert into events (id, project_id, type, version, data, subject, sequence, is_test, created_at)
        values (${id}, ${projectId}, ${type}, ${definition.version}, ${JSON.stringify(data)}::jsonb, ${subject},
                ${sequence}, false, ${at})
        returning id
      ),
      herald_deliveries as (
        insert into deliveries (id, project_id, endpoint_id, event_id, subject, sequence, status,
                                next_attempt_at, created_at, updated_at)
        select ${idTimeBound('delivery', idTimestamp(id)!.getTime())}::text || ${sql.raw(ID_RANDOM_PART_SQL)}, ${projectId}, ep.id,
               ${id}, ${subject}, ${sequence}, 'pending', ${at}, ${at}, ${at}
        from endpoints ep
        where ${subscribedEndpoints(projectId, type)}
        returning 1
      )`;
  return {
    ctes,
    deliveryCount: sql`(select count(*)::int from herald_deliveries)`,
    event: { id, type: input.type, version: definition.version, createdAt },
  };
}

/**
 * The endpoints (as `ep`) an event of `type` in the project fans out to: enabled, and subscribed
 * to it (or to every type); a test event goes to `onlyEndpointId` alone.
 */
export function subscribedEndpoints(projectId: string, type: string, onlyEndpointId?: string): SQL {
  const which =
    onlyEndpointId === undefined
      ? sql`(ep.event_types is null or ${type} = any(ep.event_types))`
      : sql`ep.id = ${onlyEndpointId}`;
  return sql`ep.project_id = ${projectId} and ep.disabled = false and ${which}`;
}
