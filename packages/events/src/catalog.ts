import type { z } from 'zod';
import { type EventDefinition, eventVersions } from './define-event';
import { endpointDisabledV1 } from './endpoint';
import { type EventType, isEventType } from './event-types';
import {
  userCreatedV1,
  userDeletedV1,
  userDeletedV2,
  userLoginFailedV1,
  userLoginSucceededV1,
  userPasswordChangedV1,
  userUpdatedV1,
} from './user';

/**
 * Every event type with all of its published versions. To change a payload
 * incompatibly, append a new version (`eventVersions(v1, v2)`) instead of
 * editing an existing one: see the package README.
 */
export const eventCatalog = Object.freeze({
  'user.created': eventVersions(userCreatedV1),
  'user.updated': eventVersions(userUpdatedV1),
  'user.deleted': eventVersions(userDeletedV1, userDeletedV2),
  'user.password.changed': eventVersions(userPasswordChangedV1),
  'user.login.succeeded': eventVersions(userLoginSucceededV1),
  'user.login.failed': eventVersions(userLoginFailedV1),
  'endpoint.disabled': eventVersions(endpointDisabledV1),
} satisfies {
  readonly [T in EventType]: {
    readonly latestVersion: number;
    readonly versions: { readonly [version: number]: EventDefinition<T> };
  };
});

type EventCatalog = typeof eventCatalog;

/** The versions of `T` that exist in the catalog, e.g. `1`. */
export type EventVersion<T extends EventType> = keyof EventCatalog[T]['versions'] & number;

export type LatestEventVersion<T extends EventType> = EventCatalog[T]['latestVersion'] & EventVersion<T>;

export type EventDefinitionOf<
  T extends EventType,
  V extends EventVersion<T> = LatestEventVersion<T>,
> = EventCatalog[T]['versions'][V];

/** The `data` payload of event type `T` at version `V` (latest by default). */
export type EventData<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>> =
  EventDefinitionOf<T, V> extends EventDefinition<T, V, infer TSchema> ? z.output<TSchema> : never;

/** A full webhook body for event type `T` at version `V` (latest by default). */
export interface EventOf<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>> {
  id: string;
  type: T;
  version: V;
  timestamp: string;
  data: EventData<T, V>;
}

/** Any event Herald can send, at any published version; narrow it on `type` (then `version`). */
export type AnyEvent = {
  [T in EventType]: { [V in EventVersion<T>]: EventOf<T, V> }[EventVersion<T>];
}[EventType];

/**
 * The definition of `type` at `version` (latest when omitted). Throws a
 * RangeError for a type or version that is not in the catalog, which only
 * happens when the caller bypassed the types.
 */
export function getEventDefinition<T extends EventType, V extends EventVersion<T> = LatestEventVersion<T>>(
  type: T,
  version?: V,
): EventDefinitionOf<T, V> {
  const definition = findEventDefinition(type, version);
  if (definition === undefined) {
    throw new RangeError(`Unknown event type/version: ${type} v${version ?? 'latest'}`);
  }
  return definition as EventDefinitionOf<T, V>;
}

/**
 * Untyped lookup for values read at runtime (a stored event's version
 * from the database, a type from a request): `undefined` when not published.
 */
export function findEventDefinition(type: string, version?: number): EventDefinition | undefined {
  const entry = catalogEntry(type);
  if (entry === undefined) return undefined;
  return entry.versions[version ?? entry.latestVersion];
}

/** Every published version of `type`, oldest first. */
export function listEventDefinitions(type: EventType): EventDefinition[] {
  return Object.values(catalogEntry(type)?.versions ?? {});
}

interface UntypedCatalogEntry {
  readonly latestVersion: number;
  readonly versions: { readonly [version: number]: EventDefinition };
}

function catalogEntry(type: string): UntypedCatalogEntry | undefined {
  return isEventType(type) ? eventCatalog[type] : undefined;
}
