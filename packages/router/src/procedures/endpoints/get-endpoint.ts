import { z } from 'zod';
import { projectProcedure } from '../../trpc/init';
import { endpointIdSchema, endpointSchema, toEndpoint } from './endpoint-schemas';
import { findEndpoint } from './find-endpoint';

export const getEndpoint = projectProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/endpoints/{id}',
      summary: 'Get a webhook endpoint',
      tags: ['Endpoints'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: endpointIdSchema }))
  .output(endpointSchema)
  .query(async ({ ctx, input }) => toEndpoint(await findEndpoint(ctx.db, ctx.projectId, input.id), ctx));
