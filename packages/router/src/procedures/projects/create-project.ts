import { newId, projects } from '@herald/db';
import { z } from 'zod';
import { insertApiKey } from '../../services/api-keys';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';
import { adminProcedure } from '../../trpc/init';
import { createdApiKeySchema, toApiKey } from '../api-keys/api-key-schemas';

export const projectSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });

export const createProject = adminProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/projects',
      summary: 'Create a project and its first API key',
      tags: ['Projects'],
      successStatus: 201,
      auth: 'admin',
    },
  })
  .input(z.strictObject({ name: z.string().trim().min(1).max(100).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE) }))
  .output(z.object({ project: projectSchema, apiKey: createdApiKeySchema }))
  .mutation(({ ctx, input }) =>
    ctx.db.transaction(async (tx) => {
      const [project] = await tx
        .insert(projects)
        .values({ id: newId('project'), name: input.name })
        .returning();
      const { row, key } = await insertApiKey(tx, project!.id, 'Default key');
      return {
        project: { id: project!.id, name: project!.name, createdAt: project!.createdAt.toISOString() },
        apiKey: { ...toApiKey(row), key },
      };
    }),
  );
