// The delivery lifecycle: outbox → claim → send → finish, and the admin
// transitions (release, requeue, endpoint health). See README.md.
export { createDispatcher, USER_AGENT } from './dispatcher';
export type { Dispatcher, DispatcherOptions } from './dispatcher';
export { defaultDispatcherConfig, dispatcherConfigFromEnv } from './config';
export type { DispatcherConfig } from './config';
export { DispatcherMetrics } from './metrics';
export { defaultRetryPolicy, nextRetryDelayMs, parseRetrySchedule } from './retry-schedule';
export type { RetryPolicy } from './retry-schedule';
export { envelopeBody, webhookHeaders } from './message';
export type { MessageEvent } from './message';
export { createWebhookSender } from './http/send-webhook';
export type { AttemptResult, WebhookSender } from './http/send-webhook';
export { classifyIp, createVettingLookup, vetUrl } from './http/ssrf';
export type { ResolvedAddress, Resolver } from './http/ssrf';
export { recordEvent } from './outbox/record-event';
export type { RecordedEvent } from './outbox/record-event';
export { createDeliveryWakeup, DELIVERIES_CHANNEL } from './wakeup';
export type { DeliveryWakeup } from './wakeup';
export { claimDueDeliveries } from './sql/claim';
export type { ClaimedDelivery } from './sql/claim';
export { recordAttempt, recordAttempts } from './sql/finish';
export type { AttemptOutcome } from './sql/finish';
export { releaseLeases } from './sql/release';
export { requeueDelivery, requeueFailedSince } from './sql/requeue';
export { isDue } from './sql/due';
