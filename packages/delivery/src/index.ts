// The delivery lifecycle: outbox → claim → send → finish, and the admin
// transitions (release, requeue, endpoint health). See README.md.

export type { DispatcherConfig } from './config';
export { defaultDispatcherConfig, dispatcherConfigFromEnv, retentionFromEnv } from './config';
export type { Dispatcher, DispatcherOptions } from './dispatcher';
export { createDispatcher, USER_AGENT } from './dispatcher';
export {
  customHeaderProblem,
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  headerNameProblem,
  headerValueProblem,
  isReservedHeader,
} from './http/headers';
export type { AttemptResult, ErrorClass, WebhookSender } from './http/send-webhook';
export { createWebhookSender } from './http/send-webhook';
export type { ResolvedAddress, Resolver } from './http/ssrf';
export { classifyIp, createVettingLookup, vetUrl } from './http/ssrf';
export type { ListenRelay, RelayConfig, RelayedDelivery, RelayReport } from './listen-relay';
export { createListenRelay } from './listen-relay';
export type { MaintenanceOptions, MaintenanceReport } from './maintenance';
export { MAINTENANCE_LOCK_KEY, runMaintenance } from './maintenance';
export type { MessageEvent } from './message';
export { envelopeBody, webhookHeaders } from './message';
export { DispatcherMetrics } from './metrics';
export type { EventStatement } from './outbox/event-statement';
export { eventStatement } from './outbox/event-statement';
export type { RecordedEvent } from './outbox/record-event';
export { recordEvent } from './outbox/record-event';
export { nextSubjectSequence } from './outbox/subject-sequence';
export type { RetryPolicy } from './retry-schedule';
export { defaultRetryPolicy, nextRetryDelayMs, parseRetrySchedule } from './retry-schedule';
export { ENDPOINT_FRESH_MS } from './send-freshness';
export type { ClaimedDelivery, ClaimResult } from './sql/claim';
export { claimDue, claimDueDeliveries, claimStatement } from './sql/claim';
export type { RelayClaimOptions } from './sql/claim-relay';
export { claimRelayDeliveries, findRelayLease } from './sql/claim-relay';
export { COMPACTED_MARKER, compactHistoryTable } from './sql/compaction';
export { deleteEndpointWithHistory } from './sql/delete-endpoint';
export { isDue } from './sql/due';
export { parkBlockedFifoFollowers, wakeParkedOfEndpoint } from './sql/fifo-park';
export { lockQueuedOfFifoSubjects } from './sql/fifo-subject-lock';
export type { AttemptOutcome } from './sql/finish';
export { recordAttempt, recordAttempts } from './sql/finish';
export { forgetLaterExcerpts, forgetResponseExcerpts } from './sql/forget-excerpts';
export type { HistoryPartition } from './sql/partitions';
export { createPartitionsAhead, listHistoryPartitions } from './sql/partitions';
export { queueMissedDeliveries } from './sql/queue-missed';
export { analyzeLaggingQueuePartitions } from './sql/queue-statistics';
export type { QueueWindow } from './sql/queue-window';
export { lowerQueueWindow, readQueueWindow, refreshQueueWindow } from './sql/queue-window';
export type { RecoveredDeliveries } from './sql/recover-endpoint';
export { RECOVER_BATCH, recoverEndpointDeliveries } from './sql/recover-endpoint';
export { releaseLeases } from './sql/release';
export { requeueDelivery, requeueFailedSince } from './sql/requeue';
export { failWithoutSending } from './sql/skip';
export type { DeliveryWakeup } from './wakeup';
export { createDeliveryWakeup, DELIVERIES_CHANNEL } from './wakeup';
