import { projects } from '@herald/db';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { publicProcedure } from '../../trpc/init';
import { portalSessionOf } from '../../trpc/portal-auth';

/**
 * Who the portal's browser session is: a project's (from a link) or the
 * operator's. Cookie only, so no REST route: the API key knows its project.
 */
export const getPortalSession = publicProcedure
  .input(z.strictObject({}).optional())
  .output(
    z
      .object({
        kind: z.enum(['project', 'operator']),
        project: z.object({ id: z.string(), name: z.string() }).nullable(),
        expiresAt: z.string(),
      })
      .nullable()
      .describe('null: no session (the portal shows its sign-in page)'),
  )
  .query(async ({ ctx, path }) => {
    const session =
      (await portalSessionOf(ctx, { path, type: 'query' }, 'project')) ??
      (await portalSessionOf(ctx, { path, type: 'query' }, 'operator'));
    if (!session) return null;
    const [project] = session.projectId
      ? await ctx.db
          .select({ id: projects.id, name: projects.name })
          .from(projects)
          .where(eq(projects.id, session.projectId))
      : [];
    return { kind: session.kind, project: project ?? null, expiresAt: session.expiresAt.toISOString() };
  });
