import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

const HOURS = 24;

const hourSchema = z.object({
  hour: z.string().describe('Start of the hour (UTC).'),
  attempts: z.number().int(),
  succeeded: z.number().int(),
  avgDurationMs: z.number().nullable(),
});

/** An endpoint's last 24 hours (attempts per hour, success rate, latency) and its current backlog. */
export const getEndpointStats = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/endpoints/{id}/stats',
      summary: "An endpoint's success rate and latency over 24 h, and its backlog",
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema }))
  .output(
    z.object({
      hours: z.array(hourSchema).describe('One entry per hour, oldest first, hours without attempts included.'),
      attempts: z.number().int(),
      successRate: z.number().nullable().describe('Share of the 24 h attempts answered 2xx (0..1); null: none.'),
      avgDurationMs: z.number().nullable(),
      backlog: z.object({
        queued: z.number().int().describe('Deliveries pending or in flight.'),
        oldestDueAt: z.string().nullable().describe('When the oldest due delivery was due; null: none due.'),
      }),
    }),
  )
  .query(async ({ ctx, input }) => {
    const endpoint = await findEndpoint(ctx.db, ctx.projectId, input.id);
    const now = new Date();
    const firstHour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - (HOURS - 1) * 3_600_000);
    const [perHour, [backlog]] = await Promise.all([
      executeRows<{ hour: Date | string; attempts: number; succeeded: number; avg_ms: number | null }>(
        ctx.db,
        sql`select date_trunc('hour', a.started_at) as hour, count(*)::int as attempts,
                   count(*) filter (where a.status_code between 200 and 299)::int as succeeded,
                   avg(a.duration_ms)::float8 as avg_ms
              from delivery_attempts a join deliveries d on d.id = a.delivery_id
             where d.endpoint_id = ${endpoint.id} and d.project_id = ${ctx.projectId}
               and a.started_at >= ${firstHour.toISOString()}::timestamptz
             group by 1`,
      ),
      executeRows<{ queued: number; oldest_due: Date | string | null }>(
        ctx.db,
        sql`select count(*)::int as queued,
                   min(next_attempt_at) filter (where next_attempt_at <= now()) as oldest_due
              from deliveries where endpoint_id = ${endpoint.id} and status in ('pending', 'in_flight')`,
      ),
    ]);
    const byHour = new Map(perHour.map((r) => [new Date(r.hour).getTime(), r]));
    const hours = Array.from({ length: HOURS }, (_, i) => {
      const start = firstHour.getTime() + i * 3_600_000;
      const row = byHour.get(start);
      return {
        hour: new Date(start).toISOString(),
        attempts: row?.attempts ?? 0,
        succeeded: row?.succeeded ?? 0,
        avgDurationMs: row?.avg_ms == null ? null : Math.round(row.avg_ms),
      };
    });
    const attempts = hours.reduce((n, h) => n + h.attempts, 0);
    const succeeded = hours.reduce((n, h) => n + h.succeeded, 0);
    const totalMs = perHour.reduce((n, r) => n + (r.avg_ms ?? 0) * r.attempts, 0);
    return {
      hours,
      attempts,
      successRate: attempts === 0 ? null : succeeded / attempts,
      avgDurationMs: attempts === 0 ? null : Math.round(totalMs / attempts),
      backlog: {
        queued: backlog?.queued ?? 0,
        oldestDueAt: backlog?.oldest_due ? new Date(backlog.oldest_due).toISOString() : null,
      },
    };
  });
