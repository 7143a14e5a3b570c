export { eventTypes, isEventType, type EventType } from './event-types';
export { isoTimestampSchema } from './shared';
export {
  envelopeSchema,
  eventIdSchema,
  eventTimestampSchema,
  eventVersionSchema,
} from './envelope';
export {
  loginFailureReasonSchema,
  userChangedFieldSchema,
  userSnapshotSchema,
  userStatusSchema,
  type UserSnapshot,
} from './user';
export { endpointDisabledReasonSchema } from './endpoint';
export {
  defineEvent,
  eventVersions,
  type EventDefinition,
  type EventVersions,
} from './define-event';
export {
  eventCatalog,
  findEventDefinition,
  getEventDefinition,
  listEventDefinitions,
  type AnyEvent,
  type EventData,
  type EventDefinitionOf,
  type EventOf,
  type EventVersion,
  type LatestEventVersion,
} from './catalog';
export {
  anyEventSchema,
  eventEnvelopeSchema,
  parseEventData,
  safeParseEvent,
  type EventEnvelopeSchema,
} from './parse';
export {
  exampleEvent,
  exampleEventId,
  exampleEventTimestamp,
  type ExampleEventOverrides,
} from './example';
export {
  catalogForApi,
  eventJsonSchemas,
  type EventJsonSchema,
  type EventTypeSummary,
  type JsonSchema,
} from './json-schema';
