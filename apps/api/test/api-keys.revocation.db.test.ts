import { createDb } from '@herald/db';
import { currentTestDriver, describeDb } from '@herald/db/testing';
import { describe, expect, it } from 'vitest';
import { createTenant, createTestApp, withJson } from './harness';

const SKIP_REASON = 'PostgreSQL only: one PGlite database is one process, which forgets a key it revokes itself';

if (currentTestDriver() === 'pglite') {
  describe('API-key revocation across API processes [pglite]', () => {
    it.skip(`skipped — ${SKIP_REASON}`, () => {});
  });
} else {
  describeDb('API-key revocation across API processes', (t) => {
    it('another API process of the database refuses a revoked key at once, not after its cache time', async () => {
      // Two API processes: each its own connection pool (and LISTEN connection) on one database.
      const [first, second] = await Promise.all([
        createDb({ url: t.url!, migrate: false }),
        createDb({ url: t.url!, migrate: false }),
      ]);
      try {
        const a = createTestApp(first.db);
        // A cache time far beyond the wait below: only the notification can make it forget.
        const b = createTestApp(second.db, { config: { apiKeyCacheMs: 10 * 60_000 } });
        const tenant = await createTenant(first.db, { testApp: a });
        const created = await tenant.request('/v1/api-keys', { json: { name: 'doomed' } });
        expect(created.status).toBe(201);
        const doomed = (await created.json()) as { id: string; key: string };
        const onB = () => b.app.request('/v1/users', withJson({}, `Bearer ${doomed.key}`));
        expect((await onB()).status).toBe(200);

        const revoked = await tenant.request(`/v1/api-keys/${doomed.id}`, { method: 'DELETE' });
        expect(revoked.status).toBe(200);
        const deadline = Date.now() + 10_000;
        let status = 200;
        while (status === 200 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          status = (await onB()).status;
        }
        expect(status).toBe(401);
        // The key's project still works there through its other key.
        expect((await b.app.request('/v1/users', withJson({}, `Bearer ${tenant.apiKey}`))).status).toBe(200);
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    });
  });
}
