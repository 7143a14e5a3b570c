/**
 * An HTTP server in its own process: the Herald API (`mode: 'herald'`), or
 * the bare baseline (`mode: 'bare'`): one Hono app whose routes do the same
 * single INSERT / SELECT through postgres.js with the same pool size.
 */
import { randomBytes } from 'node:crypto';
import type { RunningServer } from '@herald/api';
import { createPlatform, listen } from '@herald/api';
import { Hono } from 'hono';
import postgres from 'postgres';
import { serveCommands } from './lib/child';

export const POOL_SIZE = 10;

let server: RunningServer | null = null;
let closeDb: (() => Promise<void>) | null = null;

type UserRow = {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  metadata: Record<string, unknown>;
  status: string;
  created_at: Date;
  updated_at: Date;
};

const toUser = (row: UserRow) => ({
  id: row.id,
  email: row.email,
  name: row.name,
  roles: row.roles,
  metadata: row.metadata,
  status: row.status,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

function bareApp(url: string, projectId: string) {
  const sql = postgres(url, { max: POOL_SIZE, onnotice: () => {} });
  closeDb = () => sql.end({ timeout: 5 });
  const app = new Hono();
  app.post('/v1/users', async (c) => {
    const input = await c.req.json<{ email: string; name?: string }>();
    const id = `usr_${randomBytes(13).toString('hex')}`;
    const [row] = await sql<UserRow[]>`insert into users (id, project_id, email, name)
      values (${id}, ${projectId}, ${input.email.toLowerCase()}, ${input.name ?? null}) returning *`;
    return c.json(toUser(row!), 201);
  });
  app.get('/v1/users/:id', async (c) => {
    const [row] = await sql<
      UserRow[]
    >`select * from users where project_id = ${projectId} and id = ${c.req.param('id')} limit 1`;
    return row ? c.json(toUser(row)) : c.json({ error: { code: 'not_found' } }, 404);
  });
  return { app, warm: () => Promise.all(Array.from({ length: POOL_SIZE }, () => sql`select 1`)) };
}

async function heraldApp(url: string) {
  const platform = await createPlatform({
    database: { url, migrate: false, maxConnections: POOL_SIZE },
    // The default 100 requests/s per key would make this a rate-limit benchmark.
    api: { rateLimit: { requests: 1e9, windowSeconds: 1 }, allowPrivateNetworks: true },
    // API processes behind a load balancer run no dispatcher (HERALD_DISPATCHER=off).
    dispatcher: false,
  });
  closeDb = () => platform.close();
  return {
    app: platform.app,
    warm: () => Promise.all(Array.from({ length: POOL_SIZE }, () => platform.herald.sql!`select 1`)),
  };
}

serveCommands({
  async start(args) {
    const { app, warm } = args.mode === 'bare' ? bareApp(args.url, args.projectId) : await heraldApp(args.url);
    await warm();
    server = await listen(app);
    return { url: server.url };
  },
  async exit() {
    await server?.close();
    await closeDb?.();
  },
});
