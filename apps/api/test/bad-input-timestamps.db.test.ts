import { endpoints, newId } from '@herald/db';
import { describeDb } from '@herald/db/testing';
import { beforeAll, expect, it } from 'vitest';
import type { Tenant } from './harness';
import { createTenant, expectApiError } from './harness';

/** Timestamp inputs (`since` of recover) take 1970 up to now, a few minutes of clock skew allowed; others answer 400. */
describeDb('timestamps in a sane range', (t) => {
  let tenant: Tenant;
  let path: string;
  beforeAll(async () => {
    tenant = await createTenant(t.db);
    const endpointId = newId('endpoint');
    await t.db.insert(endpoints).values({ id: endpointId, projectId: tenant.projectId, url: 'https://example.com/h' });
    path = `/v1/endpoints/${endpointId}/recover`;
  });

  const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

  it.each([
    ['year 0000', '0000-01-01T00:00:00Z', /before 1970/],
    ['1969', '1969-12-31T23:59:59Z', /before 1970/],
    ['year 9999', '9999-12-31T23:59:59Z', /future/],
    ['tomorrow', () => inMinutes(24 * 60), /future/],
    ['an hour ahead', () => inMinutes(60), /future/],
  ])('since %s → 400 validation_error, over REST and tRPC', async (_name, since, message) => {
    const value = typeof since === 'function' ? since() : since;
    const error = await expectApiError(await tenant.request(path, { json: { since: value } }), 400, 'validation_error');
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'since', message: expect.stringMatching(message) }),
    ]);
    await expect(tenant.caller.endpoints.recover({ id: path.split('/')[3]!, since: value })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it.each([
    ['the epoch', () => '1970-01-01T00:00:00Z'],
    ['a date with an offset', () => '2020-06-01T12:00:00+02:00'],
    ['now', () => inMinutes(0)],
    ['a minute ahead (clock skew)', () => inMinutes(1)],
  ])('since %s is taken', async (_name, since) => {
    expect((await tenant.request(path, { json: { since: since() } })).status).toBe(202);
  });
});

/** A time filter's bounds (`since`, `until` of the delivery log) take 1970 to the end of 9999; others answer 400. */
describeDb('time filter bounds in the range a column takes', (t) => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await createTenant(t.db);
  });

  it.each([
    ['since', 'year 0000', '0000-01-01T00:00:00Z'],
    ['until', 'year 0000', '0000-06-01T00:00:00Z'],
    ['since', '1969', '1969-12-31T23:59:59Z'],
    ['until', 'year 10000 in UTC', '9999-12-31T23:59:59-14:00'],
  ])('%s at %s → 400 validation_error, over REST and tRPC', async (name, _label, value) => {
    const query = new URLSearchParams({ [name]: value });
    const error = await expectApiError(await tenant.request(`/v1/deliveries?${query}`), 400, 'validation_error');
    expect(error.details).toEqual([expect.objectContaining({ path: name, message: expect.stringMatching(/between/) })]);
    await expect(tenant.caller.deliveries.list({ [name]: value })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it.each([
    ['since', '1970-01-01T00:00:00Z'],
    ['until', '9999-12-31T23:59:59Z'],
    ['until', '2020-06-01T12:00:00+02:00'],
  ])('%s at %s is taken', async (name, value) => {
    const response = await tenant.request(`/v1/deliveries?${new URLSearchParams({ [name]: value })}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: [] });
  });
});
