/**
 * Figure 6: N users created through the API at random moments; a client
 * polls GET /v1/events every second while the dispatcher delivers the same
 * events as webhooks. Printed: requests made and the median time from the
 * API request that made the change to learning of it, each way.
 */
import { Pool } from 'undici';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { connect, seedProject } from '../lib/fixtures';
import { createBenchDatabase } from '../lib/pg';
import { fmtSpread, monoMs, sleep, spread } from '../lib/stats';

type EventPage = { data: Array<{ id: string; data: { user: { id: string } } }>; nextCursor: string | null };

export async function pollingBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('polling');
  const sql = connect(bench.url);
  const api = await startChild('api-server.ts', 'herald-api-polling');
  const worker = await startChild('worker.ts', 'herald-polling', { profile: ctx.profile === 'polling' });
  try {
    const project = await seedProject(sql, ctx.receiverUrl);
    const { url } = await api.call<{ url: string }>('start', { mode: 'herald', url: bench.url });
    await worker.call('startDispatcher', {
      url: bench.url,
      concurrency: scale.concurrency,
      batchSize: scale.batchSize,
    });
    await ctx.receiver.call('reset', { record: true });
    const pool = new Pool(url, { connections: 4 });
    const auth = { authorization: `Bearer ${project.apiKey}` };

    const changedAt = new Map<string, number>(); // user id → when the API request was sent
    const polledAt = new Map<string, number>(); // user id → when a poll first returned its event
    let polls = 0;
    let after: string | null = null;
    let polling = true;
    const poller = (async () => {
      for (let tick = monoMs(); polling; ) {
        // Follow pages until caught up: each page is a request.
        for (;;) {
          const res = await pool.request({
            method: 'GET',
            path: `/v1/events?limit=100${after ? `&after=${after}` : ''}`,
            headers: auth,
          });
          polls++;
          const page = (await res.body.json()) as EventPage;
          const at = monoMs();
          for (const event of page.data) if (!polledAt.has(event.data.user.id)) polledAt.set(event.data.user.id, at);
          after = page.data.at(-1)?.id ?? after;
          if (!page.nextCursor) break;
        }
        tick += 1000;
        await sleep(Math.max(0, tick - monoMs()));
      }
    })();

    const started = monoMs();
    const moments = Array.from({ length: scale.pollEvents }, () => Math.random() * scale.pollWindowMs).sort(
      (a, b) => a - b,
    );
    await Promise.all(
      moments.map(async (moment, i) => {
        await sleep(moment);
        const sentAt = monoMs();
        const res = await pool.request({
          method: 'POST',
          path: '/v1/users',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ email: `poll${i}@bench.example` }),
        });
        const user = (await res.body.json()) as { id: string };
        if (res.statusCode !== 201) throw new Error(`polling: POST /v1/users answered ${res.statusCode}`);
        changedAt.set(user.id, sentAt);
      }),
    );
    // Let the last events reach both the poller and the receiver.
    while (polledAt.size < scale.pollEvents && monoMs() - started < scale.pollWindowMs + 10_000) await sleep(50);
    polling = false;
    await poller;
    const { count: webhookRequests, firstByte } = await ctx.receiver.call<{
      count: number;
      firstByte: Record<string, number>;
    }>('stats', {
      withTimes: true,
    });
    await pool.close();

    const eventUser = await sql<
      { id: string; user_id: string }[]
    >`select id, data->'user'->>'id' as user_id from events`;
    const webhookDelays = eventUser.map((e) => firstByte[e.id]! - changedAt.get(e.user_id)!);
    const pollDelays = [...changedAt].map(([user, t0]) => polledAt.get(user)! - t0);
    if (webhookDelays.some((d) => !Number.isFinite(d)) || pollDelays.some((d) => !Number.isFinite(d))) {
      throw new Error('polling: some events were never seen by the poller or the receiver');
    }
    const poll = { requests: polls, delayMs: spread(pollDelays) };
    const hooks = { requests: webhookRequests, delayMs: spread(webhookDelays) };
    const one = hooks.delayMs.median / poll.delayMs.median;
    return [
      {
        id: '6',
        name: `Polling vs webhooks (${scale.pollEvents} events)`,
        // Time to learn by webhook ÷ by polling: one run, so no spread.
        ratio: { median: one, min: one, max: one },
        goal: null,
        absolute:
          `polling every 1 s: ${poll.requests} requests, ${fmtSpread(poll.delayMs, 0)} ms to learn; ` +
          `webhooks: ${hooks.requests} requests, ${fmtSpread(hooks.delayMs, 1)} ms (per event: median (min–max))`,
        detail: { events: scale.pollEvents, windowMs: scale.pollWindowMs, polling: poll, webhooks: hooks },
      },
    ];
  } finally {
    await worker.call('stopDispatcher').catch(() => {});
    await worker.exit();
    await api.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
