import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApi } from '../src/api';
import { followListenStream } from '../src/listen-stream';
import { createOutput } from '../src/output';
import { deliveryData, ENDPOINT_ID, SESSION_EVENT, startFakeHerald, streamEvents } from './harness';

/**
 * followListenStream in process (so that its idle timeout can be short), against a fake Herald API on a
 * real socket: a stream that stays open but sends nothing is dropped and opened again.
 */
describe('followListenStream: a silent stream', () => {
  async function follow(url: string, idleTimeoutMs: number, runMs: number, holdMs = 0) {
    const api = createApi({ apiUrl: url, apiKey: 'sk_test', requestTimeoutMs: 30_000 });
    const stderr = new PassThrough();
    let warnings = '';
    stderr.on('data', (chunk: Buffer) => (warnings += chunk.toString('utf8')));
    const out = createOutput({ json: false, stderr: stderr as never, stdout: new PassThrough() as never });
    const stop = new AbortController();
    const delivered: string[] = [];
    const following = followListenStream(
      api,
      out,
      ENDPOINT_ID,
      stop.signal,
      (_session, delivery) => {
        delivered.push(delivery.deliveryId);
        // As when the forwards are at their limit: the stream waits for room.
        return holdMs > 0 ? new Promise<void>((resolve) => setTimeout(resolve, holdMs)) : undefined;
      },
      { idleTimeoutMs },
    );
    await new Promise((resolve) => setTimeout(resolve, runMs));
    stop.abort();
    await following;
    return { warnings: warnings.trimEnd().split('\n').filter(Boolean), delivered };
  }

  it('reconnects when no byte arrives for the idle timeout, and gets the deliveries of the next stream', async () => {
    // The first stream announces its session and goes quiet; the second delivers.
    const fake = await startFakeHerald((response, open) =>
      streamEvents(response, SESSION_EVENT, ...(open === 1 ? [] : [`event: delivery\ndata: ${deliveryData()}\n\n`])),
    );
    const { warnings, delivered } = await follow(fake.url, 300, 1_500);
    expect(fake.streamOpenedAt.length).toBeGreaterThanOrEqual(2);
    expect(fake.streamOpenedAt[1]! - fake.streamOpenedAt[0]!).toBeGreaterThanOrEqual(300);
    expect(warnings[0]).toMatch(/^! no data from the stream for 0\.3 s; reconnecting in \d\.\d s$/);
    expect(delivered).toContain('dlv_1');
  });

  it('also gives up on an API that accepts the connection and never answers', async () => {
    const fake = await startFakeHerald(() => {});
    const { warnings } = await follow(fake.url, 300, 1_200);
    expect(fake.streamOpenedAt.length).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toMatch(/^! no data from the stream for 0\.3 s; reconnecting/);
  });

  it('keeps a stream whose keep-alive comments arrive in time', async () => {
    const fake = await startFakeHerald((response) => {
      streamEvents(response, SESSION_EVENT);
      const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 100);
      response.on('close', () => clearInterval(heartbeat));
    });
    const { warnings } = await follow(fake.url, 400, 1_500);
    expect(fake.streamOpenedAt).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it('does not count the time it waits for room to forward as the stream’s silence', async () => {
    const fake = await startFakeHerald((response) => {
      streamEvents(response, SESSION_EVENT, `event: delivery\ndata: ${deliveryData()}\n\n`);
      const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 100);
      response.on('close', () => clearInterval(heartbeat));
    });
    const { warnings, delivered } = await follow(fake.url, 300, 1_800, 1_200);
    expect(delivered).toEqual(['dlv_1']);
    expect(fake.streamOpenedAt).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});
