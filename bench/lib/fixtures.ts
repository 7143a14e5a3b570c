import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@herald/db';
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

/** `count` events, each with one pending delivery to the endpoint, due now; two INSERT … SELECTs. */
/**
 * `count` due deliveries to the project's endpoint, one ~1 KB `user.created`
 * event each. With `subjects`, the events are spread over that many subjects
 * (round robin), each subject's numbered 1, 2, 3, … as recordEvent would.
 */
export async function preloadDeliveries(
  sql: Sql,
  project: Project,
  count: number,
  options: { subjects?: number } = {},
): Promise<void> {
  const tag = `${Date.now().toString(36)}${(batch++).toString(36).padStart(3, '0')}`;
  const data = JSON.stringify(userCreatedData());
  const subjects = options.subjects ?? 0;
  await sql.begin(async (tx) => {
    await tx`insert into events (id, project_id, type, version, data, subject, sequence, created_at)
             select 'evt_' || ${tag} || lpad(g::text, 9, '0'), ${project.projectId}, 'user.created', 1, ${data}::jsonb,
                    case when ${subjects}::int > 0 then 'usr_' || ${tag} || (g % ${subjects}::int) end,
                    case when ${subjects}::int > 0 then (g - 1) / ${subjects}::int + 1 end,
                    now()
             from generate_series(1, ${count}::int) g`;
    await tx`insert into deliveries (id, project_id, endpoint_id, event_id, status, next_attempt_at,
                                     subject, sequence, created_at, updated_at)
             select 'dlv_' || ${tag} || lpad(g::text, 9, '0'), ${project.projectId}, ${project.endpointId},
                    'evt_' || ${tag} || lpad(g::text, 9, '0'), 'pending', now(),
                    case when ${subjects}::int > 0 then 'usr_' || ${tag} || (g % ${subjects}::int) end,
                    case when ${subjects}::int > 0 then (g - 1) / ${subjects}::int + 1 end,
                    now(), now()
             from generate_series(1, ${count}::int) g`;
  });
}

export async function countDeliveries(sql: Sql, status: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from deliveries where status = ${status}`;
  return row?.n ?? 0;
}

/**
 * History for the growth benchmark: `count` succeeded deliveries with one
 * attempt each, over `count / 10` events fanned out to ten endpoints (the
 * benchmark's own endpoint among them). Written with INSERT … SELECT in
 * chunks, then analyzed.
 */
export async function loadHistory(sql: Sql, project: Project, count: number): Promise<void> {
  const endpoints = [project.endpointId!];
  for (let i = 1; i < 10; i++) {
    const id = newId('endpoint');
    await sql`insert into endpoints (id, project_id, url) values (${id}, ${project.projectId}, 'https://example.com/hook')`;
    endpoints.push(id);
  }
  const small = JSON.stringify({ user: { ...userCreatedData().user, metadata: { plan: 'pro' } } });
  const eventCount = Math.ceil(count / 10);
  const chunk = 250_000;
  await sql`insert into events (id, project_id, type, version, data, created_at)
            select 'evt_past' || lpad(g::text, 9, '0'), ${project.projectId}, 'user.created', 1, ${small}::jsonb,
                   now() - interval '30 days' + g * interval '1 second'
            from generate_series(1, ${eventCount}::int) g`;
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await sql.begin(async (tx) => {
      await tx`insert into deliveries (id, project_id, endpoint_id, event_id, status, attempt_count, last_status_code,
                                       next_attempt_at, created_at, updated_at, completed_at)
               select 'dlv_past' || lpad(g::text, 9, '0'), ${project.projectId}, (${endpoints}::text[])[1 + g % 10],
                      'evt_past' || lpad((1 + (g - 1) / 10)::text, 9, '0'), 'succeeded', 1, 204,
                      null, now() - interval '30 days', now() - interval '30 days', now() - interval '30 days'
               from generate_series(${from}::int, ${to}::int) g`;
      await tx`insert into delivery_attempts (id, delivery_id, attempt_number, started_at, duration_ms, status_code, response_body)
               select 'att_past' || lpad(g::text, 9, '0'), 'dlv_past' || lpad(g::text, 9, '0'), 1,
                      now() - interval '30 days', 3, 204, ''
               from generate_series(${from}::int, ${to}::int) g`;
    });
  }
  await sql`vacuum analyze events, deliveries, delivery_attempts`;
}
