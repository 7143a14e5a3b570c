import { z } from 'zod';
import { insertApiKey } from '../../services/api-keys';
import { projectProcedure } from '../../trpc/init';
import { apiKeyNameSchema, createdApiKeySchema, toApiKey } from './api-key-schemas';

export const createApiKey = projectProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/api-keys',
      summary: 'Create an API key',
      tags: ['API keys'],
      successStatus: 201,
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ name: apiKeyNameSchema.default('API key') }))
  .output(createdApiKeySchema)
  .mutation(async ({ ctx, input }) => {
    const { row, key } = await insertApiKey(ctx.db, ctx.projectId, input.name);
    return { ...toApiKey(row), key };
  });
