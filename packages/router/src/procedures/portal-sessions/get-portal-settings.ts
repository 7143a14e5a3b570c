import { portalSettings } from '@herald/db';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { portalSettingsSchema } from './portal-settings-schemas';

export const getPortalSettings = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/portal-settings',
      summary: "The project's portal settings",
      tags: ['Portal'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({}).optional())
  .output(portalSettingsSchema)
  .query(async ({ ctx }) => {
    const [row] = await ctx.db.select().from(portalSettings).where(eq(portalSettings.projectId, ctx.projectId));
    return { frameAncestors: row?.frameAncestors ?? [] };
  });
