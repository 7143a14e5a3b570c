import type { Database } from '@herald/db';
import { executeRows, SEALED_PREFIX } from '@herald/db';
import { sql } from 'drizzle-orm';
import { historyMetricLines } from './history-metrics';
import { isDue } from './sql/due';
import type { AttemptOutcome } from './sql/finish';

const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/** Prometheus text exposition, kept by hand: four series do not need a client library. */
export class DispatcherMetrics {
  private readonly outcomes = new Map<string, number>();
  private readonly bucketCounts = LATENCY_BUCKETS_SECONDS.map(() => 0);
  private latencyCount = 0;
  private latencySum = 0;
  private readonly retentionMs: number;
  private readonly clock: () => number;
  private readonly sealingKeyId: string | undefined;

  /**
   * `clock`: tests age the history by moving it forward. `sealingKeyId`: the key endpoint signing
   * secrets are sealed under (`SecretBox.keyId`), when there is one: the secrets not yet sealed
   * under it are counted, so a key's rotation can be seen to be done.
   */
  constructor(options: { retentionMs?: number; clock?: () => number; sealingKeyId?: string } = {}) {
    this.retentionMs = options.retentionMs ?? 30 * 86_400_000;
    this.clock = options.clock ?? Date.now;
    this.sealingKeyId = options.sealingKeyId;
  }

  recordOutcome(
    outcome: AttemptOutcome | 'endpoint_disabled' | 'endpoint_deleted' | 'lease_expired_waiting' | 'secret_unreadable',
  ): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  recordLatency(seconds: number): void {
    this.latencyCount += 1;
    this.latencySum += seconds;
    LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
      if (seconds <= le) this.bucketCounts[i]! += 1;
    });
  }

  outcomeCount(outcome: string): number {
    return this.outcomes.get(outcome) ?? 0;
  }

  /** Queue figures come from the database: they are the same whichever dispatcher is asked. */
  async render(db: Database): Promise<string> {
    // `herald listen` endpoints' deliveries apart: no dispatcher takes them, and a CLI killed with
    // some due kept a false "backlog" alert going for the day until they fail `listen_expired`.
    const [queue] = await executeRows<{
      due: number | string;
      oldest_seconds: number | string | null;
      due_listen: number | string;
    }>(
      db,
      sql`select count(*) filter (where ep.kind <> 'listen')::int as due,
                 extract(epoch from now() - min(d.next_attempt_at) filter (where ep.kind <> 'listen'))::float8
                   as oldest_seconds,
                 count(*) filter (where ep.kind = 'listen')::int as due_listen
          from deliveries d join endpoints ep on ep.id = d.endpoint_id
          where ${isDue('d')}`,
    );
    // Who holds the slots, across every dispatcher: live leases by endpoint (top 10) and by project.
    const holders = await executeRows<{ project_id: string; endpoint_id: string; n: number | string }>(
      db,
      sql`select project_id, endpoint_id, count(*)::int as n from deliveries
          where status = 'in_flight' and next_attempt_at > now()
          group by project_id, endpoint_id`,
    );
    const byProject = new Map<string, number>();
    for (const h of holders) byProject.set(h.project_id, (byProject.get(h.project_id) ?? 0) + Number(h.n));
    const topEndpoints = [...holders].sort((a, b) => Number(b.n) - Number(a.n)).slice(0, 10);
    const lines = [
      '# HELP herald_deliveries_total Delivery attempts by outcome.',
      '# TYPE herald_deliveries_total counter',
      ...[...this.outcomes].map(([outcome, n]) => `herald_deliveries_total{outcome="${outcome}"} ${n}`),
      '# HELP herald_attempt_duration_seconds Time from sending a webhook to its answer.',
      '# TYPE herald_attempt_duration_seconds histogram',
      ...LATENCY_BUCKETS_SECONDS.map(
        (le, i) => `herald_attempt_duration_seconds_bucket{le="${le}"} ${this.bucketCounts[i]}`,
      ),
      `herald_attempt_duration_seconds_bucket{le="+Inf"} ${this.latencyCount}`,
      `herald_attempt_duration_seconds_sum ${this.latencySum}`,
      `herald_attempt_duration_seconds_count ${this.latencyCount}`,
      '# HELP herald_due_deliveries Deliveries due now and not yet taken (herald listen endpoints apart).',
      '# TYPE herald_due_deliveries gauge',
      `herald_due_deliveries ${Number(queue?.due ?? 0)}`,
      '# HELP herald_due_listen_deliveries Deliveries of herald listen endpoints due now, waiting for their CLI.',
      '# TYPE herald_due_listen_deliveries gauge',
      `herald_due_listen_deliveries ${Number(queue?.due_listen ?? 0)}`,
      '# HELP herald_oldest_due_delivery_age_seconds How long the oldest due delivery has waited (herald listen endpoints apart).',
      '# TYPE herald_oldest_due_delivery_age_seconds gauge',
      `herald_oldest_due_delivery_age_seconds ${Math.max(0, Number(queue?.oldest_seconds ?? 0))}`,
      '# HELP herald_in_flight_deliveries_by_project Deliveries in flight (live leases, all dispatchers) by project.',
      '# TYPE herald_in_flight_deliveries_by_project gauge',
      ...[...byProject].map(([project, n]) => `herald_in_flight_deliveries_by_project{project="${project}"} ${n}`),
      '# HELP herald_in_flight_deliveries_by_endpoint The 10 endpoints with the most deliveries in flight.',
      '# TYPE herald_in_flight_deliveries_by_endpoint gauge',
      ...topEndpoints.map(
        (h) =>
          `herald_in_flight_deliveries_by_endpoint{project="${h.project_id}",endpoint="${h.endpoint_id}"} ${Number(h.n)}`,
      ),
      ...(await historyMetricLines(db, this.retentionMs, this.clock())),
      ...(await this.sealingLines(db)),
    ];
    return `${lines.join('\n')}\n`;
  }

  /** Endpoint signing secrets in clear or under another key (a scan of `endpoint_secrets`, one row or two per endpoint). */
  private async sealingLines(db: Database): Promise<string[]> {
    if (this.sealingKeyId === undefined) return [];
    const [row] = await executeRows<{ n: number | string }>(
      db,
      sql`select count(*)::int as n from endpoint_secrets where secret not like ${`${SEALED_PREFIX}${this.sealingKeyId}:%`}`,
    );
    return [
      '# HELP herald_endpoint_secrets_not_sealed_current Endpoint signing secrets not yet sealed under HERALD_SECRET_KEY (in clear, or under a previous key).',
      '# TYPE herald_endpoint_secrets_not_sealed_current gauge',
      `herald_endpoint_secrets_not_sealed_current ${Number(row?.n ?? 0)}`,
    ];
  }
}
