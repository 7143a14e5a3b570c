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

/** Transactions (postgres.js gives each its own client) that already use generic plans. */
const genericPlans = new WeakSet<PostgresJsClient>();

/**
 * `executeRows` for the dispatcher's hot statements (claim, finish): on PostgreSQL a named
 * prepared statement with a generic plan, planned once per connection instead of at every
 * call; planning a claim cost more than running it. The text must not vary between calls
 * (values only as parameters), and its plan must be good whatever the values: write it so
 * that the only sensible plan is by key (for example `id = any(…)`), since a generic plan is
 * made without them. Partitions are pruned when it starts. PGlite: a plain `executeRows`.
 *
 * Outside a transaction this opens one (`set local` keeps the setting to it); inside one,
 * the setting holds until that transaction ends, for its other statements too.
 */
export async function executeHotRows<Row extends Record<string, unknown>>(db: Queryable, query: SQL): Promise<Row[]> {
  const { session, dialect } = db as unknown as DrizzleInternals;
  const client = session?.client as PostgresJsClient | undefined;
  // PGlite's client has no `unsafe`; only postgres.js does.
  if (!client || typeof client.unsafe !== 'function' || !dialect) return executeRows<Row>(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  const run = async (tx: PostgresJsClient) => {
    if (!genericPlans.has(tx)) {
      await tx.unsafe('set local plan_cache_mode = force_generic_plan', [], { prepare: true });
      genericPlans.add(tx);
    }
    return (await tx.unsafe(text, params, { prepare: true })) as Row[];
  };
  // A transaction's client (postgres.js TransactionSql) has no `begin`.
  return client.begin ? client.begin(run) : run(client);
}
