import { createHash, randomBytes } from 'node:crypto';
import { idTimeBound, newId } from '@herald/db';
import { generateSecret } from '@herald/signing';
import postgres from 'postgres';

export type Sql = postgres.Sql;

export function connect(url: string, max = 4): Sql {
  return postgres(url, { max, onnotice: () => {}, connection: { application_name: 'herald-bench' } });
}

export interface Project {
  projectId: string;
  apiKey: string;
  endpointId: string | null;
  secret: string | null;
}

/** A project with an API key and, when `endpointUrl` is given, one endpoint for every event type. */
export async function seedProject(sql: Sql, endpointUrl?: string): Promise<Project> {
  const projectId = newId('project');
  const apiKey = `sk_${randomBytes(32).toString('base64url')}`;
  await sql`insert into projects (id, name) values (${projectId}, 'bench')`;
  await sql`insert into api_keys (id, project_id, name, key_prefix, key_hash)
            values (${newId('apiKey')}, ${projectId}, 'bench', ${apiKey.slice(0, 11)},
                    ${createHash('sha256').update(apiKey).digest('hex')})`;
  if (!endpointUrl) return { projectId, apiKey, endpointId: null, secret: null };
  const endpointId = newId('endpoint');
  const secret = generateSecret();
  await sql`insert into endpoints (id, project_id, url) values (${endpointId}, ${projectId}, ${endpointUrl})`;
  await sql`insert into endpoint_secrets (id, endpoint_id, secret) values (${newId('endpointSecret')}, ${endpointId}, ${secret})`;
  return { projectId, apiKey, endpointId, secret };
}

/**
 * `user.created` data padded so the webhook body (the envelope around it)
 * is about 1 KB, like the bodies of the bare baseline.
 */
export function userCreatedData(userId = 'usr_01jbench0000000000000000000'): { user: Record<string, unknown> } {
  const at = new Date().toISOString();
  return {
    user: {
      id: userId,
      email: 'ada.lovelace@example.com',
      name: 'Ada Lovelace',
      roles: ['admin', 'billing'],
      metadata: { plan: 'pro', note: 'x'.repeat(700) },
      status: 'active',
      createdAt: at,
      updatedAt: at,
    },
  };
}

/** The body the dispatcher would send for an event with this data. */
export function webhookBody(id: string, data: unknown): string {
  return JSON.stringify({ id, type: 'user.created', version: 1, timestamp: new Date().toISOString(), data });
}

let batch = 0;

/** The delivery ids of one preload, first and last: a primary-key range. */
export interface PreloadedIds {
  from: string;
  to: string;
}

/**
 * `count` due deliveries to the project's endpoint, one ~1 KB `user.created`
 * event each, with ids as Herald mints them now (`newIdAt`: the time, then 16
 * characters, here the batch and row in hex), so they land in today's
 * partition. With `subjects`, the events are spread over that many subjects
 * (round robin), each subject's numbered 1, 2, 3, … as recordEvent would.
 */
export async function preloadDeliveries(
  sql: Sql,
  project: Project,
  count: number,
  options: { subjects?: number } = {},
): Promise<PreloadedIds> {
  const at = Date.now();
  const b = batch++;
  const tag = `${at.toString(36)}${b.toString(36).padStart(3, '0')}`;
  const hex = b.toString(16).padStart(6, '0');
  const evt = idTimeBound('event', at) + hex;
  const dlv = idTimeBound('delivery', at) + hex;
  const data = JSON.stringify(userCreatedData());
  const subjects = options.subjects ?? 0;
  await sql.begin(async (tx) => {
    await tx`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
             select ${evt} || lpad(to_hex(g), 10, '0'), ${project.projectId}, 'user.created', 1, ${data}::jsonb,
                    case when ${subjects}::int > 0 then 'usr_' || ${tag} || (g % ${subjects}::int) end,
                    case when ${subjects}::int > 0 then (g - 1) / ${subjects}::int + 1 end,
                    now()
             from generate_series(1, ${count}::int) g`;
    await tx`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at,
                                     subject, sequence, created_at, updated_at)
             select ${dlv} || lpad(to_hex(g), 10, '0'), ${project.projectId}, ${project.endpointId},
                    ${evt} || lpad(to_hex(g), 10, '0'), 'pending', now(),
                    case when ${subjects}::int > 0 then 'usr_' || ${tag} || (g % ${subjects}::int) end,
                    case when ${subjects}::int > 0 then (g - 1) / ${subjects}::int + 1 end,
                    now(), now()
             from generate_series(1, ${count}::int) g`;
  });
  return { from: `${dlv}${'0'.repeat(10)}`, to: `${dlv}${'f'.repeat(10)}` };
}

/** Deliveries with `status` among those of one preload (a primary-key range, fast in a large history). */
export async function countDeliveries(sql: Sql, status: string, ids: PreloadedIds): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from deliveries where id between ${ids.from} and ${ids.to} and status = ${status}`;
  return row?.n ?? 0;
}
