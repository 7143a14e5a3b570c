import { portalSettings } from '@herald/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { frameAncestorsSchema, portalSettingsSchema } from './portal-settings-schemas';

export const updatePortalSettings = projectProcedure
  .meta({
    openapi: {
      method: 'PATCH',
      path: '/portal-settings',
      summary: "Sets the project's portal settings (which sites may frame the portal)",
      tags: ['Portal'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ frameAncestors: frameAncestorsSchema }))
  .output(portalSettingsSchema)
  .mutation(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .insert(portalSettings)
      .values({ projectId: ctx.projectId, frameAncestors: input.frameAncestors })
      .onConflictDoUpdate({
        target: portalSettings.projectId,
        set: { frameAncestors: input.frameAncestors, updatedAt: sql`now()` },
      })
      .returning();
    return { frameAncestors: row!.frameAncestors };
  });
