import { describeDb } from '@herald/db/testing';
import { expect, it } from 'vitest';
import { startHerald } from './harness';

describeDb('dispatcher end to end: response bodies are stored as clean text', (t) => {
  it('records attempts whose receiver answered NUL, a lone surrogate or a huge body', async () => {
    const bodies = ['ok\0', 'bad \ud800 half', `${'\0'.repeat(3000)}${'x'.repeat(20_000)}`];
    const h = await startHerald(t, {
      dispatcher: { retryPolicy: { delaysMs: [], jitter: 0, minRetryAfterMs: 0, maxRetryAfterMs: 0 } },
    });
    const p = await h.project();
    const byEndpoint = new Map<string, string>();
    for (const body of bodies) {
      const receiver = await h.receiver(() => ({ status: 500, body }));
      const { endpoint } = await p.createEndpoint({ url: receiver.url });
      byEndpoint.set(endpoint.id, body);
    }
    await p.createUser();
    const rows = await p.settled({ expected: bodies.length });
    for (const row of rows) {
      const attempts = await p.attemptRows(row.id);
      // Before, the NUL made the attempt insert fail and the delivery was retried without a record.
      expect(attempts, JSON.stringify(byEndpoint.get(row.endpointId)?.slice(0, 20))).toHaveLength(1);
      const text = attempts[0]!.responseBody!;
      expect(text).not.toMatch(/\0/);
      expect(text).not.toMatch(/\p{Cs}/u);
      expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(4096);
      expect(row).toMatchObject({ status: 'failed', lastStatusCode: 500 });
    }
    const texts = new Map(
      await Promise.all(rows.map(async (r) => [r.endpointId, (await p.attemptRows(r.id))[0]!.responseBody] as const)),
    );
    const [nul, surrogate] = [...byEndpoint.keys()];
    expect(texts.get(nul!)).toBe('ok\uFFFD');
    // node:http writes a lone surrogate as the UTF-8 of U+FFFD already.
    expect(texts.get(surrogate!)).toBe('bad \uFFFD half');
  });
});
