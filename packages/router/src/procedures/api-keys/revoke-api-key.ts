import { apiKeys } from '@herald/db';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { notFound } from '../../errors';
import { API_KEY_REVOKED_CHANNEL } from '../../services/api-keys';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../../services/text';
import { projectProcedure } from '../../trpc/init';
import { apiKeySchema, toApiKey } from './api-key-schemas';

export const revokeApiKey = projectProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/api-keys/{id}',
      summary: 'Revoke an API key',
      tags: ['API keys'],
      auth: 'apiKey',
    },
  })
  .input(z.strictObject({ id: z.string().min(1).max(100).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE) }))
  .output(apiKeySchema)
  .mutation(async ({ ctx, input }) => {
    const [row] = await ctx.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.projectId, ctx.projectId), eq(apiKeys.id, input.id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) throw notFound('API key');
    // Delivered to the other API processes when the revocation commits (this one's transaction, if any).
    // Not fatal: without a transaction the revocation has committed already, and this process must
    // still forget the key below; the others then stop trusting it within their cache time.
    await ctx.db.execute(sql`select pg_notify(${API_KEY_REVOKED_CHANNEL}, ${row.id})`).catch((error: unknown) => {
      ctx.services.logger?.warn(
        { err: error },
        'revocation not announced; other API processes forget the key within their cache time',
      );
    });
    // After the commit: later lookups read the revocation, and one already running here (which may
    // have read the row before it) is refused instead of caching the key again. Forgotten before the
    // commit (an Idempotency-Key's transaction), a lookup in between cached the key as valid again.
    // Other API processes forget it when the notification arrives (`API_KEY_REVOKED_CHANNEL`), and
    // stop trusting their cached answer within HERALD_API_KEY_CACHE_MS if it never does.
    const forget = () => ctx.services.apiKeys.forgetKey(row.id);
    if (ctx.services.afterCommit) ctx.services.afterCommit(forget);
    else forget();
    return toApiKey(row);
  });
