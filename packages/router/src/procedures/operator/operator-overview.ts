import { executeRows } from '@herald/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { operatorProcedure } from '../../trpc/init';

/** Every project at a glance, for the operator: queue depth, oldest due delivery, failing endpoints. */
export const operatorOverview = operatorProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/operator/overview',
      summary: "Every project's queue depth, oldest due delivery and failing endpoints",
      tags: ['Portal'],
      auth: 'admin',
    },
  })
  .input(z.strictObject({}).optional())
  .output(
    z.object({
      data: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          queued: z.number().int(),
          oldestDueAt: z.string().nullable(),
          endpoints: z.number().int(),
          failingEndpoints: z.number().int().describe('Enabled endpoints in a run of failures.'),
          disabledEndpoints: z.number().int(),
        }),
      ),
    }),
  )
  .query(async ({ ctx }) => {
    const rows = await executeRows<{
      id: string;
      name: string;
      queued: number;
      oldest_due: Date | string | null;
      endpoints: number;
      failing: number;
      disabled: number;
    }>(
      ctx.db,
      sql`select p.id, p.name,
                 coalesce(q.queued, 0)::int as queued, q.oldest_due,
                 coalesce(e.total, 0)::int as endpoints, coalesce(e.failing, 0)::int as failing,
                 coalesce(e.disabled, 0)::int as disabled
            from projects p
            left join (select project_id, count(*) as queued,
                              min(next_attempt_at) filter (where next_attempt_at <= now()) as oldest_due
                         from deliveries where status in ('pending', 'in_flight') group by project_id) q
                   on q.project_id = p.id
            left join (select project_id, count(*) as total,
                              count(*) filter (where failing_since is not null and not disabled) as failing,
                              count(*) filter (where disabled) as disabled
                         from endpoints group by project_id) e
                   on e.project_id = p.id
           order by coalesce(q.queued, 0) desc, p.id
           limit 500`,
    );
    return {
      data: rows.map((r) => ({
        id: r.id,
        name: r.name,
        queued: r.queued,
        oldestDueAt: r.oldest_due ? new Date(r.oldest_due).toISOString() : null,
        endpoints: r.endpoints,
        failingEndpoints: r.failing,
        disabledEndpoints: r.disabled,
      })),
    };
  });
