import type { TemplateValue } from '@herald/db';
import { ID_RANDOM_PART_SQL, idTimeBound, idTimestamp, newId } from '@herald/db';
import type { EventData, EventType } from '@herald/events';
import { type EventDefinition, getEventDefinition } from '@herald/events';
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

export interface EventStatement {
  /**
   * Common table expressions that record the event and its deliveries, to follow
   * `with <the change> as (…),` in the one statement that makes the change: `herald_sequence`
   * (when the event has a subject), `herald_event`, `herald_deliveries`. Its values are
   * named by `value` (`values` holds them), so one text serves every event of one `shape`.
   */
  ctes(value: TemplateValue): SQL;
  /** The number of deliveries made, as an expression for the statement's select list. */
  deliveryCount(): SQL;
  /** What `ctes()`'s text depends on: one text per shape. */
  shape: 'subject' | 'no-subject';
  /** The placeholders' values (`herald_event_*`). */
  values: Record<string, unknown>;
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
  const withSubject = subject !== null;
  return {
    ctes: (value) => eventCtes(withSubject, value),
    deliveryCount: () => sql`(select count(*)::int from herald_deliveries)`,
    shape: withSubject ? 'subject' : 'no-subject',
    values: {
      herald_event_id: id,
      herald_event_project: input.projectId,
      herald_event_type: input.type,
      herald_event_version: definition.version,
      herald_event_data: JSON.stringify(data),
      herald_event_subject: subject,
      herald_event_at: createdAt.toISOString(),
      herald_event_delivery_ids: idTimeBound('delivery', idTimestamp(id)!.getTime()),
    },
    event: { id, type: input.type, version: definition.version, createdAt },
  };
}

/**
 * When a new delivery is due: the event's time by this process's clock, or the database's if
 * that is earlier. An API process whose clock ran ahead (by 3 minutes, say) made every delivery it
 * created wait that long, and a FIFO subject's later deliveries behind it.
 */
export const dueAt = (at: SQL) => sql`least(${at}, now())`;

/** `eventStatement`'s CTEs, each value as `value` gives it (a placeholder, or the value). */
function eventCtes(withSubject: boolean, value: TemplateValue): SQL {
  const v = (name: string) => value(`herald_event_${name}`);
  const at = sql`${v('at')}::timestamptz`;
  const sequence = withSubject ? sql`(select last_sequence from herald_sequence)` : sql`null::bigint`;
  const sequenceCte = withSubject
    ? sql`herald_sequence as (
          insert into subject_sequences (project_id, subject, last_sequence) values (${v('project')}, ${v('subject')}, 1)
          on conflict (project_id, subject) do update set last_sequence = subject_sequences.last_sequence + 1
          returning last_sequence
        ),`
    : sql``;
  return sql`${sequenceCte}
      herald_event as (
        insert into events (id, project_id, type, version, data, subject, sequence, is_test, created_at)
        values (${v('id')}, ${v('project')}, ${v('type')}, ${v('version')}::int, ${v('data')}::jsonb, ${v('subject')}::text,
                ${sequence}, false, ${at})
        returning id
      ),
      herald_deliveries as (
        insert into deliveries (id, project_id, endpoint_id, event_id, subject, sequence, status,
                                next_attempt_at, created_at, updated_at)
        select ${v('delivery_ids')}::text || ${sql.raw(ID_RANDOM_PART_SQL)}, ${v('project')}, ep.id,
               ${v('id')}, ${v('subject')}::text, ${sequence}, 'pending', ${dueAt(at)}, ${at}, ${at}
        from endpoints ep
        where ${subscribedEndpoints(v('project'), v('type'))}
        returning 1
      )`;
}

/**
 * The endpoints (as `ep`) an event of `type` in the project fans out to: enabled, and subscribed
 * to it (or to every type); a test event goes to `onlyEndpointId` alone.
 */
export function subscribedEndpoints(projectId: string | SQL, type: string | SQL, onlyEndpointId?: string): SQL {
  const which =
    onlyEndpointId === undefined
      ? sql`(ep.event_types is null or ${type} = any(ep.event_types))`
      : sql`ep.id = ${onlyEndpointId}`;
  return sql`ep.project_id = ${projectId} and ep.disabled = false and ${which}`;
}
