import { describe, expect, it } from 'vitest';
import { TransactionTurns } from '../src/middleware/idempotency/transaction-turns';

const settledWithin = async <T>(promise: Promise<T>, ms = 20) =>
  Promise.race([promise, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), ms))]);

describe('turns to hold a transaction for an idempotent request', () => {
  it('grants at most `turns` at once; a turn given back goes to the next waiter', async () => {
    const turns = new TransactionTurns({ turns: 2, perProject: 2, maxWaiting: 10, waitMs: 5_000 });
    expect(await turns.take('a')).toBe(true);
    expect(await turns.take('a')).toBe(true);
    const third = turns.take('a');
    expect(await settledWithin(third)).toBe('waiting');
    turns.give('a');
    expect(await third).toBe(true);
  });

  it('one project holds at most its share: another project’s request passes its waiting ones', async () => {
    const turns = new TransactionTurns({ turns: 3, perProject: 2, maxWaiting: 10, waitMs: 5_000 });
    await turns.take('noisy');
    await turns.take('noisy');
    const noisyThird = turns.take('noisy');
    expect(await settledWithin(noisyThird)).toBe('waiting');
    // The third turn is free, and the waiting request cannot have it: a quiet project gets it at once.
    expect(await settledWithin(turns.take('quiet'))).toBe(true);
    turns.give('quiet');
    expect(await settledWithin(noisyThird)).toBe('waiting');
    turns.give('noisy');
    expect(await noisyThird).toBe(true);
  });

  it('answers false after waitMs, and at once past maxWaiting', async () => {
    const turns = new TransactionTurns({ turns: 1, perProject: 1, maxWaiting: 1, waitMs: 30 });
    await turns.take('a');
    const waiting = turns.take('b');
    expect(await turns.take('c')).toBe(false);
    expect(await waiting).toBe(false);
    turns.give('a');
    // The request that gave up holds nothing: the turn is free again.
    expect(await settledWithin(turns.take('d'))).toBe(true);
  });
});
