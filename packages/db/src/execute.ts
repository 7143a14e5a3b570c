import type { Query, SQL } from 'drizzle-orm';
import { fillPlaceholders, sql } from 'drizzle-orm';
import type { Queryable } from './client';
import { genericPlannerOf } from './client';

/**
 * Raw SQL that returns rows the same way on both drivers: PGlite answers
 * `{ rows }`, postgres.js answers an array.
 */
export async function executeRows<Row extends Record<string, unknown>>(db: Queryable, query: SQL): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown;
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}

/** The parts of postgres.js this module uses (drizzle keeps its client on the session). */
interface PostgresJsClient {
  unsafe(text: string, params: unknown[], options: { prepare: boolean }): Promise<unknown[]>;
  begin?<T>(run: (tx: PostgresJsClient) => Promise<T>): Promise<T>;
}

interface DrizzleInternals {
  session?: { client?: unknown };
  dialect?: { sqlToQuery(query: SQL): Query };
}

/** Transactions (postgres.js gives each its own client) that already plan generically. */
const genericPlans = new WeakSet<PostgresJsClient>();

/**
 * How a hot statement is planned. `auto`: as PostgreSQL chooses (every connection `createDb`
 * opens plans this way, see client.ts): with its values, so the partitions its bounds leave out
 * are pruned while planning, unless the plan made without them is estimated cheaper.
 * `generic`: once per connection, without the values: for a statement that costs more to plan
 * than to run and whose partition bounds are written into its text.
 */
export type HotPlan = 'auto' | 'generic';

/**
 * `executeRows` for the dispatcher's hot statements (claim, finish): on PostgreSQL a named
 * prepared statement, parsed once per connection (postgres.js sends an unnamed statement with
 * parameters as two round trips: describe, then execute), in one round trip. `auto` plans run
 * on the database's own connections. `generic` ones run on the database's
 * connection that plans generically (`createDb`); inside a transaction, which must keep its own
 * connection, `plan_cache_mode` is set for the rest of that transaction instead. The claim is
 * planned generically: planning its many CTEs took 3.4 ms of PostgreSQL CPU per claim against
 * 1.2 ms of running it. Each distinct text is one prepared statement per connection, kept for
 * the connection's life: values go in as parameters, and a text may vary only rarely (the
 * claim's changes with its queue window, at most hourly).
 * PGlite: a plain `executeRows`.
 */
export async function executeHotRows<Row extends Record<string, unknown>>(
  db: Queryable,
  query: SQL,
  plan: HotPlan = 'auto',
): Promise<Row[]> {
  const planner = plan === 'generic' ? genericPlannerOf(db) : undefined;
  const target = planner ?? db;
  const { session, dialect } = target as unknown as DrizzleInternals;
  const client = session?.client as PostgresJsClient | undefined;
  // PGlite's client has no `unsafe`; only postgres.js does.
  if (!client || typeof client.unsafe !== 'function' || !dialect) return executeRows<Row>(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  try {
    return await runHot<Row>(client, text, params, planner !== undefined, plan);
  } catch (error) {
    // As drizzle reports its own queries' failures (the statement, never its values), so callers
    // and logs see one shape; the database's error stays the cause (its code, its constraint).
    throw new Error(`Failed query: ${text}`, { cause: error });
  }
}

async function runHot<Row>(
  client: PostgresJsClient,
  text: string,
  params: unknown[],
  planner: boolean,
  plan: HotPlan,
): Promise<Row[]> {
  // The planner connection, or a plan that matches how this transaction already plans.
  if (planner || genericPlans.has(client) === (plan === 'generic')) {
    return (await client.unsafe(text, params, { prepare: true })) as Row[];
  }
  const run = async (tx: PostgresJsClient) => {
    await tx.unsafe(`set local plan_cache_mode = ${plan === 'generic' ? 'force_generic_plan' : 'auto'}`, [], {
      prepare: true,
    });
    if (plan === 'generic') genericPlans.add(tx);
    else genericPlans.delete(tx);
    return (await tx.unsafe(text, params, { prepare: true })) as Row[];
  };
  // Not in a transaction (postgres.js's pool has `begin`, a transaction's client has not): open one.
  return client.begin ? client.begin(run) : run(client);
}

/** The text and parameters (placeholders among them) of each template, by its key. */
const templates = new Map<string, Query>();

/**
 * Templates kept at most: a key may change over a process's life (the claim's with its queue
 * window, at most hourly), and the oldest key goes first.
 */
const MAX_TEMPLATES = 64;

/** A template's value by name: a placeholder while the text is built, else the value itself. */
export type TemplateValue = (name: string) => SQL;

/**
 * `executeHotRows` for a statement whose text depends only on `key`: on PostgreSQL, `build` makes
 * it once per key with each value as a placeholder (`value(name)`), and later calls only fill in
 * `values`. Building a statement of many CTEs and turning it into text took ~30 µs of the API's
 * CPU per request (`POST /v1/users`), as much as the rest of drizzle's work. `plan` as for
 * `executeHotRows`. PGlite: built with the values each time and run as `executeRows`.
 */
export async function executeHotTemplate<Row extends Record<string, unknown>>(
  db: Queryable,
  key: string,
  build: (value: TemplateValue) => SQL,
  values: Record<string, unknown>,
  plan: HotPlan = 'auto',
): Promise<Row[]> {
  const planner = plan === 'generic' ? genericPlannerOf(db) : undefined;
  const { session, dialect } = (planner ?? db) as unknown as DrizzleInternals;
  const client = session?.client as PostgresJsClient | undefined;
  if (!client || typeof client.unsafe !== 'function' || !dialect) {
    return executeRows<Row>(
      db,
      build((name) => sql`${values[name]}`),
    );
  }
  let query = templates.get(key);
  if (!query) {
    query = dialect.sqlToQuery(build((name) => sql`${sql.placeholder(name)}`));
    if (templates.size >= MAX_TEMPLATES) templates.delete(templates.keys().next().value as string);
    templates.set(key, query);
  }
  try {
    return await runHot<Row>(client, query.sql, fillPlaceholders(query.params, values), planner !== undefined, plan);
  } catch (error) {
    throw new Error(`Failed query: ${query.sql}`, { cause: error });
  }
}
