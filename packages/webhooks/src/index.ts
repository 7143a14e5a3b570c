export {
  type EventOrdering,
  type HeraldEvent,
  isKnownEvent,
  type KnownEvent,
  type ParseEventResult,
  parseHeraldEvent,
  type UnknownEvent,
} from './event';
export { DEFAULT_MAX_BODY_BYTES, type WebhookOptions, type WebhookSecrets } from './options';
export { type ReceivedWebhook, type ReceiveResult, verifyWebhook } from './receive';
export { rejectionBody, type WebhookRejection, type WebhookRejectionCode } from './rejection';
