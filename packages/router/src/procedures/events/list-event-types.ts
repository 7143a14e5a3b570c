import { catalogForApi } from '@herald/events';
import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';

const eventTypeSchema = z.object({
  type: z.string(),
  description: z.string(),
  version: z.number().int(),
  schema: z.record(z.string(), z.unknown()),
  example: z.unknown(),
});

// Computed once: the catalog is fixed for the life of the process.
let catalog: ReturnType<typeof catalogForApi> | null = null;

export const listEventTypes = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/event-types',
      summary: 'The event catalog with JSON Schemas',
      tags: ['Events'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({}).optional())
  .output(z.object({ data: z.array(eventTypeSchema) }))
  .query(() => {
    catalog ??= catalogForApi();
    return { data: catalog as z.infer<typeof eventTypeSchema>[] };
  });
