import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeraldClient, ResponseTooLargeError } from '../src/index';
import { createHeraldRestClient } from '../src/rest';
import { usersCreate, usersGet } from '../src/sdk';
import { guardedFetch } from '../src/transport';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A server that records what reaches it, answering each path its own way. */
function recordingServer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      answer(req, res);
    });
  });
  return {
    seen,
    url: '',
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Another origin, where a redirect would take the call (and its body). */
const elsewhere = recordingServer((_req, res) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"usr_FAKE","data":[]}'),
);
const api = recordingServer((req, res) => {
  if (req.url?.startsWith('/found/')) res.writeHead(302, { location: '/v1/users' }).end();
  else if (req.url?.startsWith('/cached/')) res.writeHead(304).end();
  else if (req.url?.startsWith('/away/'))
    res.writeHead(307, { location: `${elsewhere.url}/steal?token=abc` }).end('moved');
  else if (req.url?.startsWith('/stream/')) {
    // One event every 150 ms, forever: longer than the 200 ms timeout after the fourth.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const tick = setInterval(() => res.write(`data: ${n++}\n\n`), 150);
    res.on('close', () => clearInterval(tick));
  } else if (req.url?.startsWith('/firehose/')) {
    // An event stream nobody asked for, 1 KB events as fast as they go, until the client hangs up.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pour = setInterval(() => res.write(`data: ${'x'.repeat(1024)}\n\n`), 1);
    res.on('close', () => clearInterval(pour));
  } else if (req.url?.startsWith('/drip/')) {
    // Headers at once, then a byte every 50 ms, forever.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    const drip = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(drip));
  } else if (req.url?.startsWith('/long/')) {
    // A 2 KB JSON answer that says so up front.
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pad: 'x'.repeat(2048) }));
  } else if (req.url?.startsWith('/endless/')) {
    // An answer that never ends, without a length: 1 KB chunks until the client hangs up.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"pad":"');
    const more = setInterval(() => res.write('x'.repeat(1024)), 5);
    res.on('close', () => clearInterval(more));
  } else if (req.url?.startsWith('/hang/')) {
    // Never answers: the client's timeout must end the call.
  } else res.writeHead(404).end();
});

beforeAll(async () => {
  await elsewhere.start();
  await api.start();
});
afterAll(async () => {
  await api.close();
  await elsewhere.close();
});

const newUser = { email: 'ada@example.com', password: 'correct horse battery' };

describe('redirects are answers, never followed', () => {
  it('REST: a 302 to a POST is an invalid_response with its status, naming where it pointed, and nothing is sent again', async () => {
    const client = createHeraldRestClient({ baseUrl: `${api.url}/found`, apiKey: 'sk_test' });
    const before = api.seen.length;
    const { data, error, response } = await usersCreate({ client, body: newUser });
    expect(data).toBeUndefined();
    // Its own status, as for any answer that is not Herald's: a 502 read as a gateway failure got retried.
    expect(response.status).toBe(302);
    expect(error).toMatchObject({
      error: { code: 'invalid_response', message: expect.stringContaining(`a redirect to ${api.url}/v1/users`) },
    });
    expect(api.seen.slice(before).map((s) => s.method)).toEqual(['POST']);
  });

  it('REST: a 304 (no body allowed) is an invalid_response with 502, not a TypeError', async () => {
    const client = createHeraldRestClient({ baseUrl: `${api.url}/cached`, apiKey: 'sk_test' });
    const { data, error, response } = await usersGet({ client, path: { id: 'usr_x' } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(502);
    expect(error?.error.code).toBe('invalid_response');
    await expect(usersGet({ client, path: { id: 'usr_x' }, throwOnError: true })).rejects.toMatchObject({
      error: { code: 'invalid_response' },
    });
  });

  it('REST: a 307 to another origin sends it nothing (no body, no password), and hides the query it named', async () => {
    const client = createHeraldRestClient({ baseUrl: `${api.url}/away`, apiKey: 'sk_test' });
    const { error, response } = await usersCreate({ client, body: newUser });
    expect(response.status).toBe(307);
    expect(error?.error.code).toBe('invalid_response');
    expect(error?.error.message).toContain(`${elsewhere.url}/steal`);
    expect(error?.error.message).not.toContain('token=abc');
    expect(elsewhere.seen).toEqual([]);
  });

  it('tRPC: a 307 to another origin is an error, and the other origin gets nothing', async () => {
    const client = createHeraldClient({ baseUrl: `${api.url}/away`, apiKey: 'sk_test' });
    await expect(client.users.create.mutate(newUser)).rejects.toThrow(/redirect to .*\/steal, was not followed/);
    expect(elsewhere.seen).toEqual([]);
  });
});

describe('a call that gets no answer ends at the timeout', () => {
  it('REST: network_error', async () => {
    const client = createHeraldRestClient({ baseUrl: `${api.url}/hang`, apiKey: 'sk_test', timeoutMs: 300 });
    const { error } = await usersGet({ client, path: { id: 'usr_1' } });
    expect(error).toMatchObject({ error: { code: 'network_error', message: expect.stringContaining('timeout') } });
  });

  it('a stream asked for as text/event-stream is not cut by it', async () => {
    const fetchStream = guardedFetch({ baseUrl: api.url, timeoutMs: 200 });
    const stopped = new AbortController();
    const response = await fetchStream(`${api.url}/stream/`, {
      headers: { accept: 'text/event-stream' },
      signal: stopped.signal,
    });
    const reader = response.body!.getReader();
    const chunks: string[] = [];
    for (let i = 0; i < 4; i++) chunks.push(new TextDecoder().decode((await reader.read()).value));
    expect(chunks.join('')).toContain('data: 3');
    stopped.abort();
    await expect(reader.read()).rejects.toThrow();
  });

  it('ends a trickling answer at the timeout while garbage is collected (with a caller signal)', async () => {
    // Node 20's AbortSignal.timeout inside AbortSignal.any can be collected before it fires: the call then never ended.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const collecting = setInterval(gc, 10);
    try {
      const send = guardedFetch({ baseUrl: api.url, timeoutMs: 300 });
      const call = send(`${api.url}/drip/`, { signal: new AbortController().signal }).then((r) => r.text());
      const gaveUp = new Promise((resolve) => setTimeout(resolve, 5_000, 'still running after 5 s'));
      expect(await Promise.race([call.catch((error: Error) => error.name), gaveUp])).toBe('TimeoutError');
    } finally {
      clearInterval(collecting);
    }
  });

  it('tRPC: rejects', async () => {
    const client = createHeraldClient({ baseUrl: `${api.url}/hang`, apiKey: 'sk_test', timeoutMs: 300 });
    await expect(client.users.get.query({ id: 'usr_1' })).rejects.toThrow(/timeout|aborted/i);
  });
});

describe('an answer over maxResponseBytes fails the call, read no further', () => {
  it('REST: response_too_large naming the cap (no response: it was not read), whether the length is announced or not', async () => {
    for (const path of ['long', 'endless']) {
      const client = createHeraldRestClient({
        baseUrl: `${api.url}/${path}`,
        apiKey: 'sk_test',
        maxResponseBytes: 1024,
      });
      const { error, response } = await usersGet({ client, path: { id: 'usr_1' } });
      // Not network_error: the API did answer, and retrying gets the same answer.
      expect(error).toEqual({
        error: {
          code: 'response_too_large',
          message: expect.stringContaining('larger than 1024 bytes'),
          details: { maxBytes: 1024 },
        },
      });
      expect(response.status).toBe(0);
      // The SDK's error type admits the code (a comparison with it compiles).
      expect(error?.error.code === 'response_too_large').toBe(true);
    }
  });

  it('REST with throwOnError: throws a ResponseTooLargeError, which has Herald’s error shape too', async () => {
    const client = createHeraldRestClient({ baseUrl: `${api.url}/endless`, apiKey: 'sk_test', maxResponseBytes: 1024 });
    const thrown = await usersGet({ client, path: { id: 'usr_1' }, throwOnError: true }).catch(
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(ResponseTooLargeError);
    expect(thrown).toMatchObject({
      maxBytes: 1024,
      error: { code: 'response_too_large', message: expect.stringContaining('larger than 1024 bytes') },
    });
  });

  it('tRPC: rejects with a TRPCClientError caused by a ResponseTooLargeError', async () => {
    const client = createHeraldClient({ baseUrl: `${api.url}/endless`, apiKey: 'sk_test', maxResponseBytes: 1024 });
    const thrown = await client.users.get.query({ id: 'usr_1' }).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(TRPCClientError);
    expect((thrown as TRPCClientError<never>).cause).toBeInstanceOf(ResponseTooLargeError);
    expect(String(thrown)).toMatch(/larger than 1024 bytes/);
  });

  it('an event stream a request did not ask for is read like any answer: within the cap and the deadline', async () => {
    // No deadline: only the cap ends it (handed on unread, both clients read it whole, without end).
    const capped = guardedFetch({ baseUrl: api.url, maxResponseBytes: 64 * 1024, timeoutMs: 0 });
    await expect(capped(`${api.url}/firehose/`)).rejects.toThrow(ResponseTooLargeError);
    const timed = guardedFetch({ baseUrl: api.url, maxResponseBytes: 1024, timeoutMs: 300 });
    await expect(timed(`${api.url}/stream/`)).rejects.toThrow(/timeout|abort/i);
  });

  it('an answer read whole keeps its URL', async () => {
    const response = await guardedFetch({ baseUrl: api.url })(`${api.url}/long/?page=2`);
    expect(response.url).toBe(`${api.url}/long/?page=2`);
  });

  it('an answer within the cap is handed on whole; 0 means no cap', async () => {
    const send = guardedFetch({ baseUrl: api.url, maxResponseBytes: 4096 });
    expect(((await (await send(`${api.url}/long/`)).json()) as { pad: string }).pad).toHaveLength(2048);
    const uncapped = guardedFetch({ baseUrl: api.url, maxResponseBytes: 0 });
    expect(((await (await uncapped(`${api.url}/long/`)).json()) as { pad: string }).pad).toHaveLength(2048);
    await expect(guardedFetch({ baseUrl: api.url, maxResponseBytes: 1024 })(`${api.url}/long/`)).rejects.toThrow(
      ResponseTooLargeError,
    );
  });
});

describe('limits that cannot work are refused when the client is made', () => {
  const cases: [string, Record<string, number>, RegExp][] = [
    // Node's timers run a delay past 2^31 − 1 ms after 1 ms: every call would time out at once.
    ['a timeout past 24.8 days', { timeoutMs: 2 ** 31 }, /timeoutMs must be/],
    ['a negative timeout', { timeoutMs: -1 }, /timeoutMs must be/],
    ['a cap that is not whole', { maxResponseBytes: 1.5 }, /maxResponseBytes must be/],
  ];
  it.each(cases)('%s', (_name, limits, message) => {
    const options = { baseUrl: 'http://127.0.0.1:9', apiKey: 'sk_test', ...limits };
    expect(() => createHeraldRestClient(options)).toThrow(message);
    expect(() => createHeraldClient(options)).toThrow(message);
  });
});

describe('options that would put a secret in an error message are refused when the client is made', () => {
  const secretKey = 'sk_live_SUPERSECRET';
  const cases: [string, { baseUrl: string; apiKey: string }, RegExp][] = [
    ['a key with a line break', { baseUrl: 'http://127.0.0.1:9', apiKey: `${secretKey}\nX` }, /apiKey must be/],
    ['a key with a NUL', { baseUrl: 'http://127.0.0.1:9', apiKey: `${secretKey}\0` }, /apiKey must be/],
    ['a URL with a password', { baseUrl: 'http://admin:hunter2@127.0.0.1:9', apiKey: secretKey }, /user name/],
    ['a URL that is no URL', { baseUrl: 'hunter2 nowhere', apiKey: secretKey }, /not a URL/],
    ['a URL that is not http', { baseUrl: 'file:///etc/hunter2', apiKey: secretKey }, /http\(s\)/],
  ];
  it.each(cases)('%s', (_name, options, message) => {
    for (const make of [() => createHeraldRestClient(options), () => createHeraldClient(options)]) {
      let thrown: unknown;
      try {
        make();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect(String(thrown)).toMatch(message);
      expect(String(thrown)).not.toMatch(/SUPERSECRET|hunter2/);
    }
  });
});
