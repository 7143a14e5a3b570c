import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimCaps, SendSlots } from '../src/send-slots';

type Item = { id: number; projectId: string };

function slotsFor(options: {
  concurrency?: number;
  prefetch?: number;
  share?: number;
  solo?: number;
  maxWaitMs?: number;
}) {
  let clock = 0;
  const started: Item[] = [];
  const expired: Item[] = [];
  const slots = new SendSlots<Item>(
    {
      concurrency: options.concurrency ?? 4,
      prefetch: options.prefetch ?? 4,
      projectShare: options.share ?? 2,
      projectSolo: options.solo ?? 3,
      maxWaitMs: options.maxWaitMs ?? 1_000,
    },
    (item) => started.push(item),
    (item) => expired.push(item),
    () => clock,
  );
  return { slots, started, expired, tick: (ms: number) => (clock += ms) };
}

describe('SendSlots', () => {
  it('starts a delivery at once while its project is under its solo cap, and queues the rest in claim order', () => {
    const { slots, started } = slotsFor({});
    for (let id = 1; id <= 5; id++) slots.add({ id, projectId: 'a' });
    expect(started.map((i) => i.id)).toEqual([1, 2, 3]); // solo cap 3 of 4 slots: one kept for a newcomer
    expect(slots.waitingCount).toBe(2);
    expect(slots.claimable()).toBe(4 + 4 - 3 - 2);
    expect(slots.held.get('a')).toBe(5);
    slots.answered(started[0]!);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect(slots.held.get('a')).toBe(4);
  });

  it('gives a newcomer the slot kept for it, keeps it free of projects past their quota, and holds the first to its share', () => {
    const { slots, started } = slotsFor({});
    for (let id = 1; id <= 6; id++) slots.add({ id, projectId: 'a' });
    slots.add({ id: 100, projectId: 'b' });
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 100]);
    // A freed slot is the last free one: it stays for a newcomer, a (past its quota of 1) does not take it.
    slots.answered(started[0]!);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 100]);
    // b is past its quota too: it waits like a.
    slots.add({ id: 101, projectId: 'b' });
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 100]);
    // Two free: one goes, to the oldest waiting within its project's share (b waits, so a's share is 2).
    slots.answered(started[1]!);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 100, 4]);
    // a is back under its share (2): the oldest waiting goes first; the last free slot stays kept.
    slots.answered(started[2]!);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 100, 4, 5]);
    // a at its share: the next slot beyond the reserve is b's.
    slots.answered(started[3]!);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 100, 4, 5, 101]);
  });

  it('however many projects hang, a newcomer finds a slot at once', () => {
    // 8 slots, 6 for a project alone: 2 kept for newcomers, who may hold 1 each from them.
    const { slots, started } = slotsFor({ concurrency: 8, prefetch: 0, share: 4, solo: 6 });
    for (let id = 1; id <= 10; id++) slots.add({ id, projectId: 'a' });
    for (let id = 11; id <= 20; id++) slots.add({ id, projectId: 'c' });
    // Neither answers (hanging endpoints): together they leave the newcomers' slots free.
    expect(slots.sending).toBeLessThanOrEqual(7);
    const before = started.length;
    slots.add({ id: 100, projectId: 'b' });
    expect(started.length).toBe(before + 1);
    expect(started.at(-1)!.id).toBe(100);
  });

  it('puts a delivery added with front (a rate-limited endpoint) ahead of those waiting', () => {
    const { slots, started } = slotsFor({});
    for (let id = 1; id <= 5; id++) slots.add({ id, projectId: 'a' });
    slots.add({ id: 50, projectId: 'a' }, { front: true });
    slots.answered(started[0]!);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3, 50]);
  });

  it('claimable() counts slots plus prefetch, freeAhead() slots alone', () => {
    const { slots } = slotsFor({ prefetch: 4 });
    for (let id = 1; id <= 2; id++) slots.add({ id, projectId: 'a' });
    expect(slots.claimable()).toBe(6);
    expect(slots.freeAhead()).toBe(2);
  });

  it("freeAhead() leaves out deliveries waiting behind their project's cap, not those added at the front", () => {
    // Project a sends on its solo cap (3 of 4) and has 3 more waiting behind that cap.
    const { slots } = slotsFor({ concurrency: 4, prefetch: 4, share: 2, solo: 3 });
    for (let id = 1; id <= 6; id++) slots.add({ id, projectId: 'a' });
    expect(slots.sending).toBe(3);
    expect(slots.waitingCount).toBe(3);
    // A rate-limited delivery of another project would go ahead of them: one slot is there for it.
    expect(slots.freeAhead()).toBe(1);
    slots.add({ id: 7, projectId: 'b' }, { front: true });
    expect(slots.sending).toBe(4);
    expect(slots.freeAhead()).toBe(0);
  });

  it('drops a delivery that waited past maxWaitMs, unsent, and frees what it held', () => {
    const { slots, started, expired, tick } = slotsFor({ maxWaitMs: 500 });
    for (let id = 1; id <= 4; id++) slots.add({ id, projectId: 'a' });
    tick(501);
    slots.answered(started[0]!);
    expect(expired.map((i) => i.id)).toEqual([4]);
    expect(started.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(slots.held.get('a')).toBe(2);
    expect(slots.waitingCount).toBe(0);
  });

  it('clear() drops every waiting delivery and what it held', () => {
    const { slots } = slotsFor({});
    for (let id = 1; id <= 6; id++) slots.add({ id, projectId: 'a' });
    expect(slots.clear().map((i) => i.id)).toEqual([4, 5, 6]);
    expect(slots.held.get('a')).toBe(3);
    expect(slots.claimable()).toBe(5);
  });

  it('never sends on more slots than it has, nor a project beyond its cap, whatever the order of events', () => {
    fc.assert(
      fc.property(
        // Mostly one project, so that it runs alone long enough to reach its solo cap.
        fc.array(fc.constantFrom('a', 'a', 'a', 'a', 'b', 'c', 'answer', 'answer'), { maxLength: 200 }),
        (events) => {
          const sending: Item[] = [];
          const slots = new SendSlots<Item>(
            { concurrency: 6, prefetch: 6, projectShare: 3, projectSolo: 5, maxWaitMs: 1e9 },
            (item) => sending.push(item),
            () => {},
          );
          let id = 0;
          for (const event of events) {
            if (event === 'answer') {
              const item = sending.shift();
              if (item) slots.answered(item);
            } else if (slots.claimable() > 0) slots.add({ id: id++, projectId: event });
            expect(sending.length).toBe(slots.sending);
            expect(slots.sending).toBeLessThanOrEqual(6);
            expect(slots.claimable()).toBeGreaterThanOrEqual(0);
            for (const project of ['a', 'b', 'c']) {
              const n = sending.filter((i) => i.projectId === project).length;
              expect(n).toBeLessThanOrEqual(5);
            }
            // Nothing waits while a slot is free and its project may use it.
            const held = [...slots.held.values()].reduce((x, y) => x + y, 0);
            expect(held).toBe(slots.sending + slots.waitingCount);
          }
        },
      ),
    );
  });

  it('claimCaps scales the send caps to slots plus prefetch', () => {
    expect(claimCaps(64, 64, 50)).toEqual({ projectShare: 64, projectSolo: 120 });
    expect(claimCaps(64, 0, 50)).toEqual({ projectShare: 32, projectSolo: 56 });
    expect(claimCaps(1, 0, 1)).toEqual({ projectShare: 1, projectSolo: 1 });
  });
});
