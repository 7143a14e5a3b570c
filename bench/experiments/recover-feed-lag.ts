/**
 * What one project's `POST /v1/endpoints/{id}/recover` over a large backlog does to another
 * project's event feed: project A's disabled endpoint missed N events (seeded by SQL), then A
 * enables it and recovers in calls of up to 10,000 (`more`), while project B creates a user every
 * 100 ms and polls `GET /v1/events` every 50 ms. Prints each recover call's time and B's feed lag
 * (from the create's answer to the event showing in the feed). A real API process on PostgreSQL.
 * Not part of `pnpm bench`.
 *
 *   npx tsx bench/experiments/recover-feed-lag.ts [events=100000]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { newId } from '@herald/db';
import postgres from 'postgres';

const count = Number(process.argv[2] ?? 100_000);
const name = `recover_lag_${randomBytes(3).toString('hex')}`;
const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = `postgres://postgres@127.0.0.1:5432/${name}`;
const port = 38_000 + Math.floor(Math.random() * 1000);
const token = randomBytes(24).toString('hex');
const api = spawn('npx', ['tsx', 'apps/api/src/main.ts'], {
  env: {
    ...process.env,
    DATABASE_URL: url,
    PORT: String(port),
    HERALD_DISPATCHER: 'off',
    HERALD_ADMIN_TOKEN: token,
    HERALD_ALLOW_PRIVATE_NETWORKS: '1',
    HERALD_LOG_LEVEL: 'warn',
    HERALD_RATE_LIMIT_REQUESTS: '100000',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
const base = `http://127.0.0.1:${port}`;
const call = async (key: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as any };
};
try {
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error('the API did not start');
    if (
      await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const project = async (n: string) => (await call(token, 'POST', '/v1/projects', { name: n })).json;
  const a = await project('A');
  const b = await project('B');
  const keyA: string = a.apiKey.key;
  const keyB: string = b.apiKey.key;
  const created = await call(keyA, 'POST', '/v1/endpoints', { url: 'http://127.0.0.1:9/hook', disabled: true });
  const endpointId: string = created.json.endpoint.id;
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  for (let done = 0; done < count; done += 10_000) {
    const ids = Array.from({ length: Math.min(10_000, count - done) }, () => newId('event'));
    await sql`insert into events (id, project_id, type, version, data)
              select id, ${a.project.id}, 'user.created', 1, '{"user":{"id":"usr_x","email":"x@a.example"}}'::jsonb
              from unnest(${ids}::text[]) as id`;
  }
  await sql`analyze`;
  await sql.end();
  console.log(`seeded ${count} events of A`);

  let last: string | null = null;
  let page = await call(keyB, 'GET', '/v1/events?limit=100');
  for (;;) {
    if (page.json.data.length) last = page.json.data.at(-1).id;
    if (!page.json.nextCursor) break;
    page = await call(keyB, 'GET', `/v1/events?limit=100&cursor=${page.json.nextCursor}`);
  }
  const pending = new Map<string, number>();
  const lags: Array<{ createdAt: number; lag: number }> = [];
  let stop = false;
  const creating = (async () => {
    for (let i = 0; !stop; i++) {
      const r = await call(keyB, 'POST', '/v1/users', { email: `lag${i}-${Date.now()}@b.example` });
      pending.set(r.json.id, Date.now());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const polling = (async () => {
    while (!stop) {
      const r = await call(keyB, 'GET', `/v1/events?limit=100${last ? `&after=${last}` : ''}`);
      for (const event of r.json.data) {
        last = event.id;
        const at = pending.get(event.data?.user?.id);
        if (at !== undefined) {
          lags.push({ createdAt: at, lag: Date.now() - at });
          pending.delete(event.data.user.id);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await call(keyA, 'PATCH', `/v1/endpoints/${endpointId}`, { disabled: false });
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const started = Date.now();
  let queued = 0;
  for (let calls = 1; ; calls++) {
    const t0 = Date.now();
    const r = await call(keyA, 'POST', `/v1/endpoints/${endpointId}/recover`, { since });
    queued += (r.json.requeued ?? 0) + (r.json.missed ?? 0);
    console.log(`recover call ${calls}: ${r.status} ${JSON.stringify(r.json)} in ${Date.now() - t0} ms`);
    if (!r.json.more) break;
  }
  const ended = Date.now();
  console.log(`recovered ${queued} in ${ended - started} ms`);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  stop = true;
  await Promise.all([creating, polling]);
  // B's users created while the recovery ran, however late their events showed.
  const sorted = lags
    .filter((l) => l.createdAt >= started && l.createdAt <= ended)
    .map((l) => l.lag)
    .sort((x, y) => x - y);
  console.log(
    `B's feed lag during the recovery: ${sorted.length} events, p50 ${sorted[sorted.length >> 1]} ms, max ${sorted.at(-1)} ms; unseen at the end ${pending.size}`,
  );
} finally {
  if (api.pid) process.kill(-api.pid, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
