import {
  deliveries,
  deliveryAttempts,
  events,
  idempotencyKeys,
  idTimestamp,
  loginThrottles,
  newIdAt,
  userPastEmails,
} from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { claimDueDeliveries, defaultRetryPolicy, envelopeBody, recordAttempt } from '@herald/delivery';
import { ERASED_EMAIL, erasedEventData } from '@herald/events';
import { and, asc, eq } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { createTenant, eventsOf, expectJson, type Tenant, uniqueEmail } from './harness';

/*
 * Deleting a user erases their personal data from every stored event about
 * them, in the same transaction: the feed, GET /v1/events/{id} and the
 * webhooks still queued (built from the stored event when sent) no longer
 * carry it. Other users' events stay as they were.
 */

const PASSWORD = 'correct horse battery staple';

interface Person {
  id: string;
  email: string;
  /** Every personal value this person's events carried. */
  personal: string[];
}

/** A user with a history: created, updated, a password change, logins from two addresses. */
async function personWithHistory(tenant: Tenant, label: string): Promise<Person> {
  const email = uniqueEmail(label);
  const personal = {
    name: `${label} Realname`,
    renamed: `${label} Newname`,
    metadata: `${label}-metadata-value`,
    metadataLater: `${label}-metadata-later`,
    ipOk: label === 'ada' ? '203.0.113.77' : '203.0.113.88',
    ipFailed: label === 'ada' ? '198.51.100.77' : '198.51.100.88',
    agent: `${label}-agent/1.0`,
    agentFailed: `${label}-curl/8.7.1`,
  };
  // A failed login before the account existed: no subject, but the person's email.
  await tenant.request('/v1/logins', { json: { email, password: PASSWORD, ipAddress: personal.ipFailed } });
  const user = await tenant.caller.users.create({
    email,
    name: personal.name,
    password: PASSWORD,
    metadata: { note: personal.metadata },
  });
  await tenant.caller.users.update({ id: user.id, name: personal.renamed, metadata: { note: personal.metadataLater } });
  await tenant.caller.users.setPassword({ id: user.id, password: `${PASSWORD}!` });
  const login = (password: string, ipAddress: string, userAgent: string) =>
    tenant.request('/v1/logins', { json: { email, password, ipAddress, userAgent } });
  expect((await login(`${PASSWORD}!`, personal.ipOk, personal.agent)).status).toBe(200);
  expect((await login('wrong password', personal.ipFailed, personal.agentFailed)).status).toBe(401);
  return { id: user.id, email, personal: [email, ...Object.values(personal)] };
}

async function storedEvents(tenant: Tenant) {
  return tenant.testApp.db.select().from(events).where(eq(events.projectId, tenant.projectId)).orderBy(asc(events.id));
}

/** The bodies of the project's queued webhooks, exactly as the dispatcher would send them now. */
async function pendingWebhookBodies(tenant: Tenant): Promise<string[]> {
  const rows = await tenant.testApp.db
    .select({ event: events })
    .from(deliveries)
    .innerJoin(events, eq(events.id, deliveries.eventId))
    .where(and(eq(deliveries.projectId, tenant.projectId), eq(deliveries.status, 'pending')));
  return rows.map(({ event }) => envelopeBody(event));
}

function expectNoneOf(texts: string[], values: string[]) {
  const leaks = texts.flatMap((text) =>
    values.filter((v) => text.toLowerCase().includes(v.toLowerCase())).map((v) => `${v} in ${text.slice(0, 120)}…`),
  );
  expect(leaks).toEqual([]);
}

describeDb('erasure on user delete', (t) => {
  it('DELETE /v1/users/{id} erases the person from stored events, the feed and queued webhooks; others stay', async () => {
    const tenant = await createTenant(t.db);
    await expectJson(
      await tenant.request('/v1/endpoints', { json: { url: 'https://hooks.example.com/erasure' } }),
      201,
    );
    const ada = await personWithHistory(tenant, 'ada');
    const bob = await personWithHistory(tenant, 'bob');
    // A failed login for someone else's address must not be touched.
    await tenant.request('/v1/logins', { json: { email: 'stranger@example.com', password: PASSWORD } });

    const before = await storedEvents(tenant);
    const adaEvents = before.filter((e) => e.subject === ada.id || (e.data as { email?: string }).email === ada.email);
    expect(adaEvents.map((e) => e.type)).toEqual([
      'user.login.failed',
      'user.created',
      'user.updated',
      'user.password.changed',
      'user.login.succeeded',
      'user.login.failed',
    ]);
    expect(JSON.stringify(adaEvents)).toContain(ada.personal[3]); // the data was there to erase
    expect((await pendingWebhookBodies(tenant)).join('\n')).toContain(ada.email);

    await expectJson(await tenant.request(`/v1/users/${ada.id}`, { method: 'DELETE' }), 200);

    const after = await storedEvents(tenant);
    // Nothing about Ada, anywhere in the table, the feed or the queued webhooks.
    expectNoneOf(
      after.map((e) => JSON.stringify(e.data)),
      ada.personal,
    );
    expectNoneOf([JSON.stringify(await eventsOf(tenant))], ada.personal);
    const bodies = await pendingWebhookBodies(tenant);
    expect(bodies).toHaveLength(after.length); // one endpoint: every event is still queued
    expectNoneOf(bodies, ada.personal);

    // Her events keep id, type, version, subject and time, with data valid for their schema.
    const kept = after.filter((e) => adaEvents.some((a) => a.id === e.id));
    expect(
      kept.map(({ id, type, version, subject, createdAt }) => ({ id, type, version, subject, createdAt })),
    ).toEqual(
      adaEvents.map(({ id, type, version, subject, createdAt }) => ({ id, type, version, subject, createdAt })),
    );
    for (const e of kept) expect(erasedEventData(e.type, e.version, e.data)).toEqual(e.data);
    expect(kept.find((e) => e.type === 'user.login.succeeded')!.data).toEqual({
      userId: ada.id,
      email: ERASED_EMAIL,
      ipAddress: null,
      userAgent: null,
    });
    expect(kept.find((e) => e.type === 'user.created')!.data).toMatchObject({
      user: { id: ada.id, email: ERASED_EMAIL, name: null, metadata: {}, status: 'active' },
    });

    // user.deleted carries only her id.
    const deleted = after.filter((e) => e.type === 'user.deleted');
    expect(deleted.map((e) => ({ version: e.version, subject: e.subject, data: e.data }))).toEqual([
      { version: 2, subject: ada.id, data: { user: { id: ada.id } } },
    ]);

    // Everyone else's events are exactly as they were.
    const untouched = (rows: typeof before) =>
      rows.filter((e) => !adaEvents.some((a) => a.id === e.id) && e.type !== 'user.deleted');
    expect(untouched(after)).toEqual(untouched(before));
    expect(JSON.stringify(untouched(after))).toContain(bob.personal[5]);
    expect(JSON.stringify(untouched(after))).toContain('stranger@example.com');
  });

  it('erases failed logins made with an address the user had before, and the throttle counts of each address', async () => {
    const tenant = await createTenant(t.db);
    const first = uniqueEmail('first');
    const second = uniqueEmail('second');
    const user = await tenant.caller.users.create({ email: first, password: PASSWORD });
    await tenant.caller.users.update({ id: user.id, email: second });
    // A failed login with the earlier address: no user has it now, so the event has no subject.
    for (const email of [first, second]) {
      const failed = await tenant.request('/v1/logins', {
        json: { email, password: 'wrong password', ipAddress: '192.0.2.200', userAgent: 'earlier-agent/1' },
      });
      expect(failed.status).toBe(401);
    }
    await tenant.caller.users.delete({ id: user.id });
    expectNoneOf(
      (await storedEvents(tenant)).map((e) => JSON.stringify(e.data)),
      [first, second, '192.0.2.200', 'earlier-agent/1'],
    );
    const throttles = await t.db.select().from(loginThrottles).where(eq(loginThrottles.projectId, tenant.projectId));
    expect(throttles.map((r) => r.key).filter((key) => key.includes('@'))).toEqual([]);
  });

  it("erases the stored idempotent answers that show the user (a retry answers 409, never runs again); others' stay", async () => {
    const tenant = await createTenant(t.db);
    const create = async (label: string, key: string, metadata: Record<string, string> = {}) => {
      const email = uniqueEmail(label);
      const created = await expectJson<{ id: string }>(
        await tenant.request('/v1/users', {
          json: { email, name: `${label} Realname`, metadata },
          headers: { 'idempotency-key': key },
        }),
        201,
      );
      return { id: created.id, email, body: { email, name: `${label} Realname`, metadata } };
    };
    const gone = await create('gone', 'create-gone');
    const stays = await create('stays', 'create-stays');
    // Not about the erased user: an address that starts with theirs, and their id in another user's metadata.
    await tenant.request('/v1/users', {
      json: { email: `${gone.email}.au` },
      headers: { 'idempotency-key': 'create-lookalike' },
    });
    await create('invited', 'create-invited', { invitedBy: gone.id });
    // Its email changed later: the stored answer of the create still holds the first one.
    await tenant.request(`/v1/users/${gone.id}`, { method: 'PATCH', json: { email: uniqueEmail('gone-later') } });
    await tenant.request(`/v1/users/${gone.id}/password`, {
      json: { password: 'correct horse battery staple' },
      headers: { 'idempotency-key': 'password-gone' },
    });
    const stored = async () =>
      Object.fromEntries(
        (await t.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.projectId, tenant.projectId))).map((r) => [
          r.key,
          r.responseBody,
        ]),
      );
    const before = await stored();
    expect(Object.keys(before).sort()).toEqual([
      'create-gone',
      'create-invited',
      'create-lookalike',
      'create-stays',
      'password-gone',
    ]);

    const deleted = await tenant.request(`/v1/users/${gone.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    const after = await stored();
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(after['create-gone']).toBeNull();
    expect(after['password-gone']).toBeNull();
    for (const key of ['create-invited', 'create-lookalike', 'create-stays']) expect(after[key]).toBe(before[key]);
    expectNoneOf(
      Object.values(after).map((body) => body ?? ''),
      [JSON.stringify(gone.email), 'gone Realname'],
    );

    // The client retries its create: 409, not a second user with the erased data.
    const retry = await tenant.request('/v1/users', { json: gone.body, headers: { 'idempotency-key': 'create-gone' } });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await expectJson<{ error: { code: string } }>(retry, 409)).error.code).toBe('conflict');
    const users = await expectJson<{ data: unknown[] }>(
      await tenant.request(`/v1/users?email=${encodeURIComponent(gone.email)}`),
      200,
    );
    expect(users.data).toEqual([]);
    const replayed = await tenant.request('/v1/users', {
      json: stays.body,
      headers: { 'idempotency-key': 'create-stays' },
    });
    expect(replayed.status).toBe(201);
    expect(await replayed.text()).toBe(before['create-stays']);
  });

  it('a keyed tRPC batch that updates, then deletes a user stores its answer without them: a retry answers 409', async () => {
    const tenant = await createTenant(t.db);
    const email = uniqueEmail('batched');
    const user = await tenant.caller.users.create({
      email,
      name: 'Batched Realname',
      metadata: { ssn: '123-45-6789' },
    });
    const send = () =>
      tenant.request('/trpc/users.update,users.delete?batch=1', {
        json: { 0: { id: user.id, name: 'Batched Realname' }, 1: { id: user.id } },
        headers: { 'idempotency-key': 'update-then-delete' },
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('Batched Realname'); // the answer itself shows them, once
    const [record] = await t.db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.projectId, tenant.projectId), eq(idempotencyKeys.key, 'update-then-delete')));
    expect(record).toMatchObject({ status: 'completed', responseBody: null, responseStatus: 409 });

    const retry = await send();
    expect(retry.status).toBe(409);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const text = await retry.text();
    expectNoneOf([text], [email, 'Batched Realname', '123-45-6789']);
    expect(text).toContain('conflict');
  });

  it('a keyed users.delete alone is replayed as answered: its answer shows only the id, which erasure keeps', async () => {
    const tenant = await createTenant(t.db);
    const user = await tenant.caller.users.create({ email: uniqueEmail('deleted-alone'), name: 'Alone Realname' });
    const send = () =>
      tenant.request('/trpc/users.delete', { json: { id: user.id }, headers: { 'idempotency-key': 'delete-alone' } });
    const first = await send();
    expect(first.status).toBe(200);
    const retry = await send();
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toBe(await first.text());
  });

  it("erases a user whose older events are past payload retention, and the receivers' answers logged for their webhooks", async () => {
    const tenant = await createTenant(t.db);
    await expectJson(
      await tenant.request('/v1/endpoints', { json: { url: 'https://hooks.example.com/erasure' } }),
      201,
    );
    const email = uniqueEmail('echoed');
    const user = await tenant.caller.users.create({ email, name: 'Echoed Name' });
    await tenant.caller.users.update({ id: user.id, name: 'Echoed Later' });
    const [created, updated] = (await storedEvents(tenant)).filter((e) => e.subject === user.id);
    // Payload retention cleared the older event (as `expireOldPayloads` leaves it).
    await t.db.update(events).set({ data: {}, payloadExpiredAt: new Date() }).where(eq(events.id, created!.id));
    // A receiver that echoes what it was sent: its answer, logged with the attempt, holds the email.
    const [delivery] = await t.db.select().from(deliveries).where(eq(deliveries.eventId, updated!.id));
    await t.db.insert(deliveryAttempts).values({
      id: newIdAt('attempt', idTimestamp(delivery!.id)!.getTime()),
      deliveryId: delivery!.id,
      attemptNumber: 1,
      startedAt: new Date(),
      durationMs: 12,
      statusCode: 400,
      responseBody: `rejected: {"user":{"email":"${email}"}}`,
    });

    await expectJson(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 200);
    await expectJson(await tenant.request(`/v1/users/${user.id}`), 404);
    const after = (await storedEvents(tenant)).filter((e) => e.subject === user.id);
    expect(after.find((e) => e.id === created!.id)!.data).toEqual({});
    expectNoneOf(
      after.map((e) => JSON.stringify(e.data)),
      [email, 'Echoed Name', 'Echoed Later'],
    );
    const attempts = await t.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, delivery!.id));
    expect(attempts.map((a) => a.responseBody)).toEqual([null]);
  });

  it('erases failed logins made with an earlier address after payload retention emptied the events that showed it', async () => {
    const tenant = await createTenant(t.db);
    const first = uniqueEmail('first');
    const user = await tenant.caller.users.create({ email: first, password: PASSWORD });
    await tenant.caller.users.update({ id: user.id, email: uniqueEmail('second') });
    // Payload retention emptied the user's events (the only ones that showed the first address).
    await t.db.update(events).set({ data: {}, payloadExpiredAt: new Date() }).where(eq(events.subject, user.id));
    const failed = { email: first, password: 'wrong password', ipAddress: '192.0.2.201', userAgent: 'earlier-agent/1' };
    expect((await tenant.request('/v1/logins', { json: failed })).status).toBe(401);

    await expectJson(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 200);
    const logins = (await storedEvents(tenant)).filter((e) => e.type === 'user.login.failed');
    expect(logins).toHaveLength(1);
    expectNoneOf([JSON.stringify(logins[0]!.data)], [first, failed.ipAddress, failed.userAgent]);
    const throttles = await t.db.select().from(loginThrottles).where(eq(loginThrottles.projectId, tenant.projectId));
    expect(throttles.filter((row) => row.key.includes(first.toLowerCase()))).toEqual([]);
    expect(await t.db.select().from(userPastEmails).where(eq(userPastEmails.userId, user.id))).toEqual([]);
  });

  it('leaves an earlier address alone once another user holds it: their throttle counts and failed logins stay', async () => {
    const tenant = await createTenant(t.db);
    const shared = uniqueEmail('shared');
    const user = await tenant.caller.users.create({ email: shared, password: PASSWORD });
    await tenant.caller.users.update({ id: user.id, email: uniqueEmail('moved') });
    await tenant.caller.users.create({ email: shared, password: PASSWORD });
    const failed = { email: shared, password: 'wrong password', ipAddress: '192.0.2.202', userAgent: 'other-agent/1' };
    expect((await tenant.request('/v1/logins', { json: failed })).status).toBe(401);

    await expectJson(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 200);
    const throttles = await t.db.select().from(loginThrottles).where(eq(loginThrottles.projectId, tenant.projectId));
    expect(throttles.map((row) => row.key)).toContain(`account:${shared.toLowerCase()}`);
    const logins = (await storedEvents(tenant)).filter((e) => e.type === 'user.login.failed');
    expect(JSON.stringify(logins.map((e) => e.data))).toContain(failed.userAgent);
  });

  it("a webhook in flight when its user is erased: the receiver's answer, recorded after, is not kept (it may echo them)", async () => {
    const tenant = await createTenant(t.db);
    await expectJson(
      await tenant.request('/v1/endpoints', { json: { url: 'https://hooks.example.com/in-flight' } }),
      201,
    );
    const email = uniqueEmail('inflight');
    const user = await tenant.caller.users.create({ email, name: 'In Flight' });
    const owner = `erasure-${tenant.projectId}`;
    const claimed = (await claimDueDeliveries(t.db, { limit: 500, leaseMs: 45_000, owner })).filter(
      (d) => d.projectId === tenant.projectId,
    );
    expect(claimed).toHaveLength(1);
    const sent = envelopeBody(claimed[0]!.event);
    expect(sent).toContain(email);

    await expectJson(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 200);
    // The receiver answered after the erasure, quoting what it was sent (claimed before).
    const echo = { ok: false, statusCode: 422, durationMs: 5, errorClass: 'http_status' as const };
    const { outcome } = await recordAttempt(
      t.db,
      claimed[0]!,
      { ...echo, errorMessage: 'HTTP 422', responseBody: `rejected ${sent}`, retryAfterSeconds: null },
      { owner, retryPolicy: defaultRetryPolicy, failureWindowMs: 60_000, startedAt: new Date() },
    );
    expect(outcome).toBe('retrying');
    const attempts = await t.db.select().from(deliveryAttempts).where(eq(deliveryAttempts.deliveryId, claimed[0]!.id));
    expect(attempts.map((a) => [a.statusCode, a.responseBody])).toEqual([[422, null]]);
  });

  it('marks the queued deliveries of the erased events; a late attempt of a finished one keeps no answer', async () => {
    const tenant = await createTenant(t.db);
    await expectJson(await tenant.request('/v1/endpoints', { json: { url: 'https://hooks.example.com/all' } }), 201);
    const email = uniqueEmail('marks');
    const user = await tenant.caller.users.create({ email, name: 'Marks' });
    const owner = `erasure-marks-${tenant.projectId}`;
    const [sent] = (await claimDueDeliveries(t.db, { limit: 500, leaseMs: 45_000, owner })).filter(
      (d) => d.projectId === tenant.projectId,
    );
    const record = (responseBody: string) =>
      recordAttempt(
        t.db,
        sent!,
        {
          ok: true,
          statusCode: 200,
          durationMs: 5,
          errorClass: null,
          errorMessage: null,
          responseBody,
          retryAfterSeconds: null,
        },
        { owner, retryPolicy: defaultRetryPolicy, failureWindowMs: 60_000, startedAt: new Date() },
      );
    expect((await record('thanks')).outcome).toBe('succeeded');
    // A second event about the user, its delivery still pending.
    await tenant.caller.users.update({ id: user.id, name: 'Marks Again' });
    const before = await t.db.select().from(deliveries).where(eq(deliveries.projectId, tenant.projectId));
    expect(before.map((d) => d.status).sort()).toEqual(['pending', 'succeeded']);

    await expectJson(await tenant.request(`/v1/users/${user.id}`, { method: 'DELETE' }), 200);
    const erasedEvents = (await eventsOf(tenant)).filter((e) => e.type !== 'user.deleted').map((e) => e.id);
    const marked = await t.db.select().from(deliveries).where(eq(deliveries.projectId, tenant.projectId));
    const ofErased = marked.filter((d) => erasedEvents.includes(d.eventId));
    // The pending one: a claim before the erasure commits would send the old data.
    expect(ofErased.map((d) => [d.status, d.excerptsErased]).sort()).toEqual([
      ['pending', true],
      ['succeeded', false],
    ]);
    // The finished one's attempt arrives late (its lease had run out), echoing what it was sent.
    expect((await record(`you sent ${email}`)).outcome).toBe('lease_lost');
    const attempts = await t.db
      .select()
      .from(deliveryAttempts)
      .where(eq(deliveryAttempts.deliveryId, sent!.id))
      .orderBy(asc(deliveryAttempts.startedAt));
    expect(attempts.map((a) => [a.errorClass, a.responseBody])).toEqual([
      [null, null],
      ['lease_lost', null],
    ]);
  });

  it('users.delete over tRPC erases the same way, and a 404 erases nothing', async () => {
    const tenant = await createTenant(t.db);
    const cyd = await personWithHistory(tenant, 'cyd');
    const before = await storedEvents(tenant);
    await expect(tenant.caller.users.delete({ id: 'usr_00000000000000000000000000' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await storedEvents(tenant)).toEqual(before);

    await tenant.caller.users.delete({ id: cyd.id });
    const after = await storedEvents(tenant);
    expect(after).toHaveLength(before.length + 1);
    expectNoneOf(
      after.map((e) => JSON.stringify(e.data)),
      cyd.personal,
    );
  });
});
