import type { SQL } from 'drizzle-orm';
import type { Queryable } from './client';

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
  dialect?: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
}

/** Transactions (postgres.js gives each its own client) that already plan as asked, by mode. */
const planModes = new WeakMap<PostgresJsClient, HotPlan>();

/**
 * How a hot statement is planned. `custom`: at each call, with its values, so the partitions its
 * bounds leave out are pruned while planning. `generic`: once per connection, without the values;
 * partitions are pruned when each execution starts (PostgreSQL's initial pruning, from the
 * parameters), so the statement must name its partition bounds as parameters.
 */
export type HotPlan = 'custom' | 'generic';

/**
 * `executeRows` for the dispatcher's hot statements (claim, finish): on PostgreSQL a named
 * prepared statement, parsed once per connection and planned as `plan` says (custom by default).
 * A generic plan of a finish, made without the values, planned every partition of the history: at
 * 63 day partitions that took ~16 ms, and every ANALYZE or new partition threw it away
 * (pg_stat_statements: recording a batch's attempts cost 2.7 ms of planning per call against
 * 0.4 ms with custom plans). The claim is the other way round: planning its many CTEs took 3.4 ms
 * of PostgreSQL CPU per claim against 1.2 ms of running it, so it is planned once per connection.
 * The text must not vary between calls (values only as parameters). PGlite: a plain `executeRows`.
 *
 * Outside a transaction this opens one (`set local` keeps the setting to it); inside one,
 * the setting holds until that transaction ends, for its other statements too.
 */
export async function executeHotRows<Row extends Record<string, unknown>>(
  db: Queryable,
  query: SQL,
  plan: HotPlan = 'custom',
): Promise<Row[]> {
  const { session, dialect } = db as unknown as DrizzleInternals;
  const client = session?.client as PostgresJsClient | undefined;
  // PGlite's client has no `unsafe`; only postgres.js does.
  if (!client || typeof client.unsafe !== 'function' || !dialect) return executeRows<Row>(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  const run = async (tx: PostgresJsClient) => {
    if (planModes.get(tx) !== plan) {
      await tx.unsafe(`set local plan_cache_mode = force_${plan}_plan`, [], { prepare: true });
      planModes.set(tx, plan);
    }
    return (await tx.unsafe(text, params, { prepare: true })) as Row[];
  };
  // A transaction's client (postgres.js TransactionSql) has no `begin`.
  return client.begin ? client.begin(run) : run(client);
}
