import type { z } from 'zod';
import type { EventType } from './event-types';

/** One version of one event type: the contract for its `data` payload. */
export interface EventDefinition<
  TType extends EventType = EventType,
  TVersion extends number = number,
  TSchema extends z.ZodType = z.ZodType,
> {
  readonly type: TType;
  readonly version: TVersion;
  /** One sentence, shown in the docs and in `GET /v1/event-types`. */
  readonly description: string;
  readonly schema: TSchema;
  /** Must pass `schema`; used for docs and for "send test event". */
  readonly example: z.output<TSchema>;
  /**
   * The id of the resource the event is about (the user's id for `user.*`,
   * the endpoint's for `endpoint.*`), or null when there is none (a failed
   * login for an unknown email). Stored with the event: erasure finds a
   * person's events by it.
   */
  subject(data: z.output<TSchema>): string | null;
  /**
   * `data` without the personal data it holds, still valid for `schema`:
   * what stays stored once the subject is erased. Absent when the payload
   * holds none.
   */
  erase?(data: z.output<TSchema>): z.output<TSchema>;
}

export function defineEvent<
  const TType extends EventType,
  const TVersion extends number,
  TSchema extends z.ZodType,
>(definition: {
  type: TType;
  version: TVersion;
  description: string;
  schema: TSchema;
  // NoInfer: the schema alone decides the data type; the example is checked against it.
  example: NoInfer<z.output<TSchema>>;
  subject: (data: NoInfer<z.output<TSchema>>) => string | null;
  erase?: (data: NoInfer<z.output<TSchema>>) => NoInfer<z.output<TSchema>>;
}): EventDefinition<TType, TVersion, TSchema> {
  // Frozen so that a caller editing an example (e.g. to build a test event)
  // fails loudly instead of changing what every later caller sees.
  return Object.freeze({ ...definition, example: deepFreeze(definition.example) });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const nested of Object.values(value)) deepFreeze(nested);
  }
  return value;
}

type LastOf<TItems extends readonly unknown[]> = TItems extends readonly [...unknown[], infer TLast] ? TLast : never;

/** The catalog entry of one event type: every published version, plus which one is newest. */
export interface EventVersions<TDefinitions extends readonly EventDefinition[]> {
  readonly latestVersion: LastOf<TDefinitions> extends EventDefinition<EventType, infer V> ? V : never;
  readonly versions: { readonly [D in TDefinitions[number] as D['version']]: D };
}

/**
 * Groups the versions of one event type, oldest first. Versions are only ever
 * appended: an old version stays in the catalog for as long as stored events or
 * consumers may still use it.
 */
export function eventVersions<const TDefinitions extends readonly [EventDefinition, ...EventDefinition[]]>(
  ...definitions: TDefinitions
): EventVersions<TDefinitions> {
  const [first] = definitions;
  const versions: Record<number, EventDefinition> = {};
  let latestVersion = 0;
  for (const definition of definitions) {
    if (definition.type !== first.type) {
      throw new Error(`eventVersions: mixed event types ${first.type} and ${definition.type}`);
    }
    if (!Number.isInteger(definition.version) || definition.version <= latestVersion) {
      throw new Error(`eventVersions(${first.type}): versions must be positive integers in ascending order`);
    }
    versions[definition.version] = definition;
    latestVersion = definition.version;
  }
  return Object.freeze({
    latestVersion,
    versions: Object.freeze(versions),
  }) as unknown as EventVersions<TDefinitions>;
}
