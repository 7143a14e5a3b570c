/**
 * Fairness: tenant A's event→delivery p99 while tenant B's 200 endpoints
 * hang, divided by A's p99 while B is idle, on one dispatcher with the
 * default concurrency. Goal ≤ 1.5: a noisy neighbour costs A almost nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createDb, newId } from '@herald/db';
import { createDeliveryWakeup, recordEvent } from '@herald/delivery';
import { generateSecret } from '@herald/signing';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { connect, seedProject, userCreatedData } from '../lib/fixtures';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, ratios, sleep, spread } from '../lib/stats';
import { latencies, waitForReceiver, writeEvents } from './latency';

const HANGING_ENDPOINTS = 200;
const RATE = 100;

/** A receiver that accepts requests and never answers; `drop()` cuts every connection. */
async function startHangingServer() {
  const sockets = new Set<Socket>();
  const server = createServer(() => {});
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function fairnessBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('fairness');
  const sql = connect(bench.url);
  const herald = await startChild('worker.ts', 'herald-fairness');
  const writer = await createDb({ url: bench.url, migrate: false });
  const wakeup = createDeliveryWakeup(writer);
  const hanging = await startHangingServer();
  try {
    const a = await seedProject(sql, ctx.receiverUrl);
    const b = await seedProject(sql);
    for (let i = 0; i < HANGING_ENDPOINTS; i++) {
      const id = newId('endpoint');
      await sql`insert into endpoints (id, project_id, url) values (${id}, ${b.projectId}, ${`${hanging.url}/e${i}`})`;
      await sql`insert into endpoint_secrets (id, endpoint_id, secret)
                values (${newId('endpointSecret')}, ${id}, ${generateSecret()})`;
    }
    await Promise.all(Array.from({ length: 10 }, () => writer.sql!`select 1`));

    const round = async (noisy: boolean) => {
      await herald.call('startDispatcher', {
        url: bench.url,
        concurrency: scale.concurrency,
        batchSize: scale.batchSize,
      });
      if (noisy) {
        // One B event fans out to all 200 hanging endpoints; give B time to take every slot it may.
        await writer.db.transaction((tx) =>
          recordEvent(tx, { projectId: b.projectId, type: 'user.created', data: userCreatedData() as never }),
        );
        wakeup.notify();
        await sleep(500);
      }
      await ctx.receiver.call('reset', { record: true });
      const sentAt = await writeEvents(writer, wakeup, a, RATE, scale.latencyDurationMs);
      const result = latencies(sentAt, await waitForReceiver(ctx.receiver, Object.keys(sentAt).length));
      // B's requests would hold stop() until they time out: cut them, then forget B's deliveries.
      hanging.drop();
      await herald.call('stopDispatcher');
      await sql`delete from deliveries where project_id = ${b.projectId}`;
      return result;
    };

    await round(false);
    const quiet: number[] = [];
    const noisy: number[] = [];
    for (let r = 0; r < scale.rounds; r++) {
      quiet.push((await round(false)).p99);
      noisy.push((await round(true)).p99);
      ctx.log(
        `  round ${r + 1}: A's p99 ${fmt(noisy.at(-1)!)} ms with B hanging, ${fmt(quiet.at(-1)!)} ms with B idle`,
      );
    }
    return [
      {
        id: '7',
        name: "Fairness: A's p99 with B's 200 hanging endpoints ÷ B idle",
        ratio: spread(ratios(noisy, quiet)),
        goal: { op: '<=', value: 1.5 },
        absolute: `noisy ${fmtSpread(spread(noisy), 1)} ms; quiet ${fmtSpread(spread(quiet), 1)} ms at ${RATE} events/s`,
        detail: { noisy, quiet, hangingEndpoints: HANGING_ENDPOINTS, eventsPerSecond: RATE },
      },
    ];
  } finally {
    hanging.drop();
    await hanging.close();
    await wakeup.close();
    await writer.close();
    await herald.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
