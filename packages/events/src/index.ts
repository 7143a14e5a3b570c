export {
  type AnyEvent,
  type EventData,
  type EventDefinitionOf,
  type EventOf,
  type EventVersion,
  eventCatalog,
  findEventDefinition,
  getEventDefinition,
  type LatestEventVersion,
  listEventDefinitions,
} from './catalog';
export {
  defineEvent,
  type EventDefinition,
  type EventVersions,
  eventVersions,
} from './define-event';
export { endpointDisabledReasonSchema } from './endpoint';
export {
  envelopeSchema,
  eventIdSchema,
  eventSequenceSchema,
  eventSubjectSchema,
  eventTimestampSchema,
  eventVersionSchema,
} from './envelope';
export { type EventType, eventTypes, isEventType } from './event-types';
export {
  type ExampleEventOverrides,
  exampleEvent,
  exampleEventId,
  exampleEventTimestamp,
} from './example';
export {
  catalogForApi,
  type EventJsonSchema,
  type EventTypeSummary,
  eventJsonSchemas,
  type JsonSchema,
} from './json-schema';
export {
  anyEventSchema,
  type EventEnvelopeSchema,
  eventEnvelopeSchema,
  parseEventData,
  safeParseEvent,
} from './parse';
export { isoTimestampSchema } from './shared';
export { erasedEventData, subjectOf } from './subject';
export {
  ERASED_EMAIL,
  loginFailureReasonSchema,
  type UserSnapshot,
  userChangedFieldSchema,
  userSnapshotSchema,
  userStatusSchema,
} from './user';
