import { randomBytes } from 'node:crypto';
import type { RunningServer } from '@herald/api';
import { createApp, listen } from '@herald/api';
import type { HeraldClient } from '@herald/client';
import { createHeraldClient, createHeraldRestClient } from '@herald/client';
import type { ApiError, UsersCreateData, UsersCreateResponse, UsersGetData } from '@herald/client/sdk';
import {
  endpointsCreateListen,
  endpointsListenAttempts,
  eventsList,
  projectsCreate,
  usersCreate,
  usersDelete,
  usersGet,
  usersList,
  usersUpdate,
} from '@herald/client/sdk';
import { describeDb } from '@herald/db/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { waitFor } from './harness';
import { sseReader } from './sse-reader';

const adminToken = `admin_${randomBytes(16).toString('hex')}`;
const missingUserId = `usr_${'0'.repeat(26)}`;
const email = (label: string) => `${label.toLowerCase()}.${randomBytes(4).toString('hex')}@example.com`;

describeDb('clients over HTTP', (t) => {
  let server: RunningServer;
  let apiKey: string;

  beforeAll(async () => {
    server = await listen(createApp({ db: t.db, config: { adminToken } }));
    // The admin route, through the generated SDK with the admin token.
    const admin = createHeraldRestClient({ baseUrl: server.url, apiKey: adminToken });
    const { data, error, response } = await projectsCreate({ client: admin, body: { name: 'Clients test' } });
    expect(error).toBeUndefined();
    expect(response.status).toBe(201);
    apiKey = data!.apiKey.key;
    expect(apiKey).toMatch(/^sk_/);
  });

  afterAll(async () => {
    await server?.close();
  });

  describe('generated REST SDK (@herald/client/sdk)', () => {
    it('creates, gets, lists, updates and deletes a user', async () => {
      const client = createHeraldRestClient({ baseUrl: `${server.url}/`, apiKey });
      const address = email('Ada');

      const created = await usersCreate({
        client,
        body: { email: address.toUpperCase(), name: 'Ada', roles: ['admin'], metadata: { plan: 'pro', seats: 3 } },
      });
      expect(created.error).toBeUndefined();
      expect(created.response.status).toBe(201);
      const user = created.data!;
      expect(user).toMatchObject({
        email: address,
        name: 'Ada',
        roles: ['admin'],
        metadata: { plan: 'pro', seats: 3 },
        status: 'active',
      });
      expect(user.id).toMatch(/^usr_/);

      const got = await usersGet({ client, path: { id: user.id } });
      expect(got.response.status).toBe(200);
      expect(got.data).toEqual(user);

      const other = await usersCreate({ client, body: { email: email('grace') } });
      expect(other.response.status).toBe(201);
      const byEmail = await usersList({ client, query: { email: address } });
      expect(byEmail.data).toEqual({ data: [user], nextCursor: null });
      // Query parameters are serialized from typed values (limit is a number).
      const firstPage = await usersList({ client, query: { limit: 1 } });
      expect(firstPage.data!.data).toHaveLength(1);
      expect(firstPage.data!.nextCursor).toBe(firstPage.data!.data[0]!.id);
      const secondPage = await usersList({ client, query: { limit: 1, cursor: firstPage.data!.nextCursor! } });
      expect(secondPage.data!.data).toHaveLength(1);
      expect(new Set([firstPage.data!.data[0]!.id, secondPage.data!.data[0]!.id])).toEqual(
        new Set([user.id, other.data!.id]),
      );

      const updated = await usersUpdate({
        client,
        path: { id: user.id },
        body: { name: 'Ada Lovelace', status: 'locked' },
      });
      expect(updated.response.status).toBe(200);
      expect(updated.data).toMatchObject({ id: user.id, name: 'Ada Lovelace', status: 'locked' });

      const deleted = await usersDelete({ client, path: { id: user.id } });
      expect(deleted.data).toEqual({ id: user.id, deleted: true });

      const gone = await usersGet({ client, path: { id: user.id } });
      expect(gone.response.status).toBe(404);
      expect(gone.data).toBeUndefined();
      expect(gone.error).toMatchObject({ error: { code: 'not_found', message: expect.any(String) } });
    });

    it('surfaces the { error: { code } } body of failed requests', async () => {
      const client = createHeraldRestClient({ baseUrl: server.url, apiKey });

      const invalid = await usersCreate({ client, body: { email: 'not an email' } });
      expect(invalid.response.status).toBe(400);
      expect(invalid.error?.error.code).toBe('validation_error');
      expect(invalid.error?.error.details).toBeDefined();

      const address = email('dup');
      expect((await usersCreate({ client, body: { email: address } })).response.status).toBe(201);
      const duplicate = await usersCreate({ client, body: { email: address } });
      expect(duplicate.response.status).toBe(409);
      expect(duplicate.error).toMatchObject({ error: { code: 'email_taken' } });

      const anonymous = createHeraldRestClient({ baseUrl: server.url });
      const unauthorized = await usersList({ client: anonymous });
      expect(unauthorized.response.status).toBe(401);
      expect(unauthorized.error?.error.code).toBe('unauthorized');

      // throwOnError: the error body is thrown instead of returned.
      await expect(usersGet({ client, path: { id: missingUserId }, throwOnError: true })).rejects.toMatchObject({
        error: { code: 'not_found' },
      });
    });

    it('sends typed headers: Idempotency-Key replays the first response', async () => {
      const client = createHeraldRestClient({ baseUrl: server.url, apiKey });
      const body = { email: email('idem') };
      const headers = { 'Idempotency-Key': `key-${randomBytes(6).toString('hex')}` };
      const first = await usersCreate({ client, body, headers });
      const replay = await usersCreate({ client, body, headers });
      expect(first.response.status).toBe(201);
      expect(replay.response.status).toBe(201);
      expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.data).toEqual(first.data);
    });

    it('lists the events the changes recorded', async () => {
      const client = createHeraldRestClient({ baseUrl: server.url, apiKey });
      const created = await usersCreate({ client, body: { email: email('evt') } });
      // The feed holds an event back while any older transaction on the server is still open
      // (event-feed.ts), and other suites write beside this one: wait for it rather than race.
      await expect
        .poll(async () => {
          const { data } = await eventsList({ client, query: { type: 'user.created', limit: 100 } });
          return data!.data.map((e) => (e.data as { user: { id: string } }).user.id);
        })
        .toContain(created.data!.id);
    });

    it('reports what the local receiver answered to a delivery of a listen stream (endpointsListenAttempts)', async () => {
      const client = createHeraldRestClient({ baseUrl: server.url, apiKey });
      const created = await endpointsCreateListen({ client, body: { forwardTo: 'http://localhost:9/hooks' } });
      const endpointId = created.data!.endpoint.id;
      // The stream is not in the SDK (its SSE client never closes a stream the caller leaves): read as
      // `herald listen` reads it.
      const abort = new AbortController();
      const stream = await fetch(`${server.url}/v1/endpoints/${endpointId}/listen`, {
        headers: { authorization: `Bearer ${apiKey}` },
        signal: abort.signal,
      });
      const events = sseReader(stream);
      try {
        const hello = await events.next();
        expect(hello.event).toBe('session');
        await usersCreate({ client, body: { email: email('Listen') } });
        const delivery = await events.next();
        expect(delivery.event).toBe('delivery');
        const report = await endpointsListenAttempts({
          client,
          path: { id: endpointId },
          body: {
            session: hello.data.session,
            deliveryId: delivery.data.deliveryId,
            statusCode: 204,
            durationMs: 2,
            errorClass: null,
            errorMessage: null,
            responseBody: null,
          },
        });
        expect(report.error).toBeUndefined();
        expect(report.data).toEqual({ deliveryId: delivery.data.deliveryId, outcome: 'succeeded' });
      } finally {
        abort.abort();
        await events.cancel();
      }
    });
  });

  describe('typed tRPC client (@herald/client)', () => {
    let herald: HeraldClient;
    beforeAll(() => {
      herald = createHeraldClient({ baseUrl: server.url, apiKey });
    });

    it('creates, gets and lists users, and sees the user.created event', async () => {
      const address = email('Linus');
      const user = await herald.users.create.mutate({ email: address, name: 'Linus', metadata: { source: 'trpc' } });
      expect(user).toMatchObject({ email: address.toLowerCase(), name: 'Linus', metadata: { source: 'trpc' } });

      // Two calls in one tick travel as one batched HTTP request.
      const [got, page] = await Promise.all([
        herald.users.get.query({ id: user.id }),
        herald.users.list.query({ email: address }),
      ]);
      expect(got).toEqual(user);
      expect(page).toEqual({ data: [user], nextCursor: null });

      // The feed serves an event once every older transaction on the server has ended: poll for it.
      const event = await waitFor(async () => {
        const events = await herald.events.list.query({ type: 'user.created', limit: 100 });
        return events.data.find((e) => (e.data as { user?: { id?: string } }).user?.id === user.id);
      });
      expect(event).toMatchObject({
        type: 'user.created',
        version: 1,
        data: { user: { id: user.id, email: address.toLowerCase() } },
      });
      expect(event!.id).toMatch(/^evt_/);
    });

    it('sends a mutation with its Idempotency-Key from the call context: a retry replays, nothing runs twice', async () => {
      const address = email('Keyed');
      const context = { idempotencyKey: `trpc-client-${address}` };
      const [first, again] = await Promise.all([
        herald.users.create.mutate({ email: address }, { context }),
        // Sent in the same tick: each keyed call travels alone, so the two do not share a batch.
        herald.users.list.query({ email: address }),
      ]);
      expect(again.data.length).toBeLessThanOrEqual(1);
      const retried = await herald.users.create.mutate({ email: address }, { context });
      expect(retried).toEqual(first);
      expect((await herald.users.list.query({ email: address })).data).toHaveLength(1);
      // Another body under the same key is refused, as over REST.
      const reused = await herald.users.create.mutate({ email: email('Other') }, { context }).catch((e: unknown) => e);
      expect((reused as TRPCClientError<HeraldClientRouter>).data?.herald.code).toBe('idempotency_key_reused');
    });

    it('splits more calls made at once than the API takes in one batch into several requests', async () => {
      const user = await herald.users.create.mutate({ email: email('Many') });
      // The API refuses a batch of more than 20 calls whole (400 batch_too_large).
      const got = await Promise.all(Array.from({ length: 45 }, () => herald.users.get.query({ id: user.id })));
      expect(got).toEqual(Array.from({ length: 45 }, () => user));
    });

    it('refusals made before any procedure runs reach the tRPC client with their code', async () => {
      const user = await herald.users.create.mutate({ email: email('Refused') });
      const heraldCode = (e: unknown) => (e as TRPCClientError<HeraldClientRouter>).data?.herald.code;
      // A client told the server takes larger batches than it does.
      const eager = createHeraldClient({ baseUrl: server.url, apiKey, maxBatchSize: 100 });
      const batch = await Promise.allSettled(Array.from({ length: 21 }, () => eager.users.get.query({ id: user.id })));
      expect(batch.map((r) => (r.status === 'rejected' ? heraldCode(r.reason) : 'ok'))).toEqual(
        Array(21).fill('batch_too_large'),
      );
      const tooLarge = await herald.users.update
        .mutate({ id: user.id, metadata: { big: 'x'.repeat(2_000_000) } })
        .catch((e: unknown) => e);
      expect(heraldCode(tooLarge)).toBe('payload_too_large');
      expect((tooLarge as TRPCClientError<HeraldClientRouter>).data?.httpStatus).toBe(413);
      let deep: { [key: string]: number | typeof deep } = { leaf: 1 };
      for (let i = 0; i < 40; i++) deep = { deep };
      const tooDeep = await herald.users.update.mutate({ id: user.id, metadata: deep }).catch((e: unknown) => e);
      expect(heraldCode(tooDeep)).toBe('validation_error');
    });

    it('rejects with a TRPCClientError carrying data.herald.code', async () => {
      const error = await herald.users.get.query({ id: missingUserId }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TRPCClientError);
      const { data } = error as TRPCClientError<HeraldClientRouter>;
      expect(data?.code).toBe('NOT_FOUND');
      expect(data?.httpStatus).toBe(404);
      expect(data?.herald).toMatchObject({ code: 'not_found', message: 'User not found' });
      // Never a stack trace over the wire.
      expect(data?.stack).toBeUndefined();

      const invalid = await herald.users.create.mutate({ email: 'nope' }).catch((e: unknown) => e);
      expect((invalid as TRPCClientError<HeraldClientRouter>).data?.herald.code).toBe('validation_error');

      const stranger = createHeraldClient({ baseUrl: server.url, apiKey: 'sk_not_a_real_key' });
      const unauthorized = await stranger.users.list.query({}).catch((e: unknown) => e);
      expect((unauthorized as TRPCClientError<HeraldClientRouter>).data).toMatchObject({
        code: 'UNAUTHORIZED',
        herald: { code: 'unauthorized' },
      });
    });
  });
});

type HeraldClientRouter = import('@herald/client').AppRouter;

describe('client types', () => {
  it('the SDK functions are typed from the OpenAPI document', () => {
    expectTypeOf<UsersCreateData['body']>().toHaveProperty('email').toEqualTypeOf<string>();
    expectTypeOf<UsersGetData['path']>().toEqualTypeOf<{ id: string }>();
    expectTypeOf<UsersCreateResponse['email']>().toEqualTypeOf<string>();
    expectTypeOf<UsersCreateResponse['status']>().toEqualTypeOf<'active' | 'locked'>();
    type GetResult = Awaited<ReturnType<typeof usersGet<false>>>;
    expectTypeOf<NonNullable<GetResult['data']>>().toEqualTypeOf<UsersCreateResponse>();
    expectTypeOf<NonNullable<GetResult['error']>>().toEqualTypeOf<ApiError>();
    // With throwOnError the promise resolves to the data only.
    expectTypeOf<Awaited<ReturnType<typeof usersGet<true>>>['data']>().toEqualTypeOf<UsersCreateResponse>();
    expectTypeOf<ApiError['error']['code']>().toExtend<string>();
    expectTypeOf<'not_found'>().toExtend<ApiError['error']['code']>();
    // Never called: the directives fail type-checking if the SDK loses its types.
    const _wrongCalls = () => {
      // @ts-expect-error the path parameter is required
      void usersGet({ path: {} });
      // @ts-expect-error email is required
      void usersCreate({ body: { name: 'x' } });
    };
  });

  it('the tRPC client is typed from the router', () => {
    type User = Awaited<ReturnType<HeraldClient['users']['get']['query']>>;
    expectTypeOf<User['email']>().toEqualTypeOf<string>();
    expectTypeOf<User['status']>().toEqualTypeOf<'active' | 'locked'>();
    expectTypeOf<Parameters<HeraldClient['users']['create']['mutate']>[0]>().toHaveProperty('email');
    // The same user over both clients.
    expectTypeOf<Pick<User, 'id' | 'email' | 'name' | 'roles' | 'status'>>().toEqualTypeOf<
      Pick<UsersCreateResponse, 'id' | 'email' | 'name' | 'roles' | 'status'>
    >();
    // Errors carry Herald's machine-readable code: the server's (the REST client adds three of its own).
    type ErrorData = NonNullable<TRPCClientError<HeraldClientRouter>['data']>;
    expectTypeOf<ErrorData['herald']['code']>().toEqualTypeOf<
      Exclude<ApiError['error']['code'], 'network_error' | 'invalid_response' | 'response_too_large'>
    >();
    const _wrongCalls = (client: HeraldClient) => {
      // @ts-expect-error users.get needs an id
      void client.users.get.query({});
      // @ts-expect-error no such procedure
      void client.users.nope;
    };
  });
});
