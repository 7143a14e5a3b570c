import { generateSecret } from '@herald/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningConsumer } from '../src';
import type { TestPlatform } from './harness';
import { deliver, startPlatform, startTestConsumer, waitFor } from './harness';

const secret = generateSecret();
let platform: TestPlatform;
let consumer: RunningConsumer;

beforeAll(async () => {
  platform = await startPlatform();
  consumer = await startTestConsumer(platform, { secrets: [secret] });
}, 60_000);

afterAll(async () => {
  await consumer?.close();
  await platform?.close();
});

/** Reads server-sent events from GET /events until `until` is satisfied. */
async function readEvents(
  until: (events: { event: string; id?: string; data: string }[]) => boolean,
  headers: Record<string, string> = {},
) {
  const controller = new AbortController();
  const response = await fetch(`${consumer.url}/events`, { headers, signal: controller.signal });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; id?: string; data: string }[] = [];
  let buffer = '';
  const deadline = setTimeout(() => controller.abort(), 10_000);
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        if (field('event')) events.push({ event: field('event')!, id: field('id'), data: field('data') ?? '' });
      }
    }
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  return events;
}

describe('the page', () => {
  it('serves one self-contained page with the stable test ids', async () => {
    const response = await fetch(consumer.url);
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const testId of [
      'create-user',
      'failed-login',
      'change-password',
      'delete-user',
      'timeline',
      'poll-counter',
    ]) {
      expect(html).toContain(`data-testid="${testId}"`);
    }
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    expect(html).toContain('A poller of GET /v1/events every 1 s would have made');
    // Another site cannot frame it to borrow a click (clickjacking).
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('streams timeline entries and stats live, and resumes after Last-Event-ID', async () => {
    const body = JSON.stringify({
      id: 'evt_live',
      type: 'endpoint.disabled',
      version: 1,
      timestamp: new Date().toISOString(),
      // A valid payload: the consumer refuses (400) a body that fails the catalog schema.
      data: {
        endpointId: 'ep_live',
        url: 'https://hooks.example.com/herald',
        reason: 'gone',
        disabledAt: new Date().toISOString(),
      },
    });
    const live = readEvents((events) =>
      events.some((event) => event.event === 'entry' && event.data.includes('msg_live')),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await deliver(consumer.url, { webhookId: 'msg_live', body, secrets: secret })).status).toBe(200);
    const events = await live;

    expect(JSON.parse(events[0]!.data)).toMatchObject({
      startedAt: expect.any(String),
      webhooksReceived: expect.any(Number),
    });
    const entry = events.find((event) => event.event === 'entry' && event.data.includes('msg_live'))!;
    expect(JSON.parse(entry.data)).toMatchObject({
      kind: 'webhook',
      eventType: 'endpoint.disabled',
      detail: { verified: true, duplicate: false },
    });

    await waitFor(async () => (await consumer.store.inbox.get('msg_live'))?.processedAt);
    const resumed = await readEvents(
      (got) => got.some((event) => event.data.includes('no follow-up for endpoint.disabled')),
      {
        'last-event-id': entry.id!,
      },
    );
    const resumedIds = resumed.filter((event) => event.event === 'entry').map((event) => Number(event.id));
    expect(Math.min(...resumedIds)).toBeGreaterThan(Number(entry.id));
  });
});

describe('POST /actions/*', () => {
  const act = async (name: string) => {
    const response = await fetch(`${consumer.url}/actions/${name}`, { method: 'POST' });
    return {
      status: response.status,
      body: (await response.json()) as { ok: boolean; summary: string; detail?: { userId?: string } },
    };
  };

  it('asks for a user before acting on one', async () => {
    expect(await act('failed-login')).toMatchObject({ status: 409, body: { ok: false } });
  });

  it('drives the platform through the typed client', async () => {
    const created = await act('create-user');
    expect(created).toMatchObject({ status: 200, body: { ok: true } });
    const userId = created.body.detail!.userId!;
    expect(await platform.client.users.get.query({ id: userId })).toMatchObject({ status: 'active' });

    expect(await act('failed-login')).toMatchObject({
      status: 200,
      body: { summary: expect.stringContaining('invalid_credentials') },
    });
    const failures = await platform.client.events.list.query({ type: 'user.login.failed' });
    expect(failures.data.some((event) => JSON.stringify(event.data).includes(userId))).toBe(true);

    expect(await act('change-password')).toMatchObject({ status: 200 });
    expect(await act('delete-user')).toMatchObject({ status: 200 });
    await expect(platform.client.users.get.query({ id: userId })).rejects.toThrow(/not found/i);
  });
});
