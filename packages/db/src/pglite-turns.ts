import type { PGlite } from '@electric-sql/pglite';

/**
 * Makes the statements of one PGlite take turns with the rest of the process.
 *
 * PGlite runs each statement synchronously on the event loop's thread, and its lock hands the
 * next waiting statement its turn in a microtask: while statements keep coming (a dispatcher's
 * claims and outcome writes, an API under load), they run back to back and no socket is read
 * until the queue is empty. Receivers' answers then waited behind them: in the FIFO test
 * (tests/e2e/ordering.db.test.ts) a request took 413 ms on average on PGlite against 18 ms on
 * PostgreSQL. Here statements and transactions run one at a time, in call order, each after a
 * `setImmediate`, so the I/O that arrived meanwhile is handled between two of them.
 *
 * Only the entry points that take PGlite's lock are wrapped (`query`, `exec`, `transaction`);
 * a transaction's own statements run on its `tx` inside its turn, as they must anyway (a call on
 * the instance from inside a transaction waits for it, with or without this).
 */
export function takeTurns(pglite: PGlite): void {
  let tail: Promise<unknown> = Promise.resolve();
  const turn =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const result = tail.then(nextTurn).then(() => run(...args));
      tail = result.catch(() => {});
      return result;
    };
  pglite.query = turn(pglite.query.bind(pglite)) as PGlite['query'];
  pglite.exec = turn(pglite.exec.bind(pglite)) as PGlite['exec'];
  pglite.transaction = turn(pglite.transaction.bind(pglite)) as PGlite['transaction'];
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
