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
