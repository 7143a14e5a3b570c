/**
 * An HTTP server in its own process: the Herald API (`mode: 'herald'`), or
 * the bare baseline (`mode: 'bare'`): one Hono app whose routes do the same
 * database work (a create: the user, its event and its deliveries in one transaction; a read: a
 * SELECT by id) through postgres.js with the same pool size.
 */

import type { RunningServer } from '@herald/api';
import { createPlatform, listen } from '@herald/api';
import { idTimeBound, newId } from '@herald/db';
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
  // The same work as Herald's create, in the least code: the user, its `user.created` event (with
  // its subject's next sequence) and a delivery for every subscribed endpoint, in one transaction
  // (one statement). No validation, idempotency, rate limit, authentication or log line.
  app.post('/v1/users', async (c) => {
    const input = await c.req.json<{ email: string; name?: string }>();
    const now = new Date();
    const id = newId('user', now.getTime());
    const eventId = newId('event', now.getTime());
    // Herald's ids: a delivery's carries its event's time (the day partition it lives in).
    const deliveryIdPrefix = idTimeBound('delivery', now.getTime());
    const email = input.email.toLowerCase();
    const name = input.name ?? null;
    const data = { user: { id, email, name, roles: [], metadata: {}, status: 'active', createdAt: now.toISOString() } };
    const [row] = await sql<UserRow[]>`with u as (
        insert into users (id, project_id, email, name) values (${id}, ${projectId}, ${email}, ${name}) returning *
      ),
      seq as (
        insert into subject_sequences (project_id, subject, last_sequence) values (${projectId}, ${id}, 1)
        on conflict (project_id, subject) do update set last_sequence = subject_sequences.last_sequence + 1
        returning last_sequence
      ),
      e as (
        insert into events (id, project_id, type, version, data, subject, sequence, created_at)
        select ${eventId}, ${projectId}, 'user.created', 1, ${sql.json(data)}, ${id}, last_sequence, ${now} from seq
        returning id, sequence
      ),
      d as (
        insert into deliveries (id, project_id, endpoint_id, event_id, subject, sequence, status, next_attempt_at, created_at, updated_at)
        select ${deliveryIdPrefix} || substr(md5(random()::text), 1, 16), ${projectId}, ep.id, e.id, ${id}, e.sequence, 'pending', ${now}, ${now}, ${now}
        from endpoints ep cross join e
        where ep.project_id = ${projectId} and not ep.disabled and (ep.event_types is null or 'user.created' = any(ep.event_types))
      )
      select * from u`;
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
