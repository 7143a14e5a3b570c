import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  deliveryEvent,
  ENDPOINT_ID,
  SESSION_EVENT,
  startFakeHerald,
  startListen,
  startServer,
  streamEvents,
} from './harness';

/**
 * A local receiver that holds every request until `release()` (then answers them, and all later ones,
 * 200), counting how many it holds at once and which deliveries it got.
 */
async function holdingReceiver() {
  const held: ServerResponse[] = [];
  const received: string[] = [];
  let released = false;
  let mostAtOnce = 0;
  const server = await startServer((request, response) => {
    received.push(String(request.headers['webhook-id']));
    if (released) return response.end('ok');
    held.push(response);
    mostAtOnce = Math.max(mostAtOnce, held.length);
  });
  return {
    url: `${server.url}/hooks`,
    received,
    held: () => held.length,
    mostAtOnce: () => mostAtOnce,
    release() {
      released = true;
      for (const response of held.splice(0)) response.end('ok');
    },
  };
}

describe('herald listen: limits', () => {
  it('forwards at most 16 deliveries at once, and skips one the stream sends again while it is in flight', async () => {
    const total = 40;
    const fake = await startFakeHerald((response) =>
      streamEvents(
        response,
        SESSION_EVENT,
        deliveryEvent(1),
        deliveryEvent(1),
        ...Array.from({ length: total - 1 }, (_, i) => deliveryEvent(i + 2)),
      ),
    );
    const receiver = await holdingReceiver();
    const cli = await startListen(fake.url, receiver.url);
    await expect.poll(receiver.held, { timeout: 10_000 }).toBe(16);
    // The rest wait in the stream: nothing more reaches the receiver while the 16 are held.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.held()).toBe(16);
    receiver.release();
    await expect.poll(() => fake.reports.length, { timeout: 10_000 }).toBe(total);
    expect(receiver.mostAtOnce()).toBe(16);
    expect(receiver.received.filter((id) => id === 'evt_1')).toHaveLength(1);
    expect(new Set(fake.reports.map((r) => r.deliveryId)).size).toBe(total);
    expect(cli.stderr()).toBe('! skipped delivery dlv_1: it is already being forwarded\n');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('on Ctrl-C, stops waiting for a local URL that never answers, removes the endpoint and exits at once', async () => {
    const fake = await startFakeHerald((response) => streamEvents(response, SESSION_EVENT, deliveryEvent(1)));
    const receiver = await holdingReceiver();
    const cli = await startListen(fake.url, receiver.url, ['--timeout', '60000']);
    await expect.poll(receiver.held, { timeout: 10_000 }).toBe(1);
    const stoppedAt = Date.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(3_000);
    expect(fake.wasDeleted()).toBe(true);
    expect(cli.stdout()).toContain(`Removed the development endpoint ${ENDPOINT_ID}`);
    // Nothing is reported for it: the stream's end gives its lease back, and Herald sends it again.
    expect(fake.reports).toEqual([]);
    expect(cli.stderr()).toBe('! dlv_1: stopped before the local URL answered; Herald sends it again\n');
  });
});
