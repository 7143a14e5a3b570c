import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { RateLimitOptions } from '../src/middleware/rate-limit';
import { rateLimit } from '../src/middleware/rate-limit';

/** The middleware alone on a tiny app, with a clock the test moves. */
function limitedApp(options: Omit<RateLimitOptions, 'now'>) {
  const clock = { ms: 1_000_000 };
  const app = new Hono();
  app.use(rateLimit({ ...options, now: () => clock.ms }));
  app.get('/', (c) => c.json({ ok: true }));
  return { app, clock, get: (headers: Record<string, string> = {}) => app.request('/', { headers }) };
}

const byHeader = async (c: { req: { header(name: string): string | undefined } }) => {
  const id = c.req.header('x-key-id');
  if (id === undefined) return null;
  const projectId = c.req.header('x-project-id');
  return projectId === undefined ? { id } : { id, projectId };
};

describe('rate limit (fixed window, IETF RateLimit headers)', () => {
  it('counts down RateLimit on every response and announces the policy', async () => {
    const { get } = limitedApp({ requests: 3, windowSeconds: 10 });
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const response = await get();
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toBe('"default";q=3;w=10');
      seen.push(response.headers.get('ratelimit'));
    }
    expect(seen).toEqual(['"default";r=2;t=10', '"default";r=1;t=10', '"default";r=0;t=10']);
  });

  it('answers 429 with Retry-After (seconds to the window end) and the error body once the budget is spent', async () => {
    const { get, clock } = limitedApp({ requests: 2, windowSeconds: 10 });
    await get();
    await get();
    clock.ms += 3_500;
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.headers.get('ratelimit')).toBe('"default";r=0;t=7');
    expect(await limited.json()).toEqual({
      error: { code: 'rate_limited', message: expect.stringContaining('2 requests per 10 s') },
    });
  });

  it('opens a new window once the old one ends', async () => {
    const { get, clock } = limitedApp({ requests: 1, windowSeconds: 1 });
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(429);
    clock.ms += 999;
    expect((await get()).status).toBe(429);
    clock.ms += 1;
    const fresh = await get();
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('ratelimit')).toBe('"default";r=0;t=1');
  });

  it('gives each identified API key its own budget', async () => {
    const { get } = limitedApp({ requests: 1, windowSeconds: 60, identify: byHeader });
    expect((await get({ 'x-key-id': 'key_a' })).status).toBe(200);
    expect((await get({ 'x-key-id': 'key_a' })).status).toBe(429);
    expect((await get({ 'x-key-id': 'key_b' })).status).toBe(200);
  });

  it('puts every unidentified request from one address in one budget, whatever Authorization it sends', async () => {
    const { get } = limitedApp({ requests: 2, windowSeconds: 60, identify: byHeader });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get({ authorization: `Bearer sk_made_up_${i}` })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it("caps all of a project's keys together: more keys buy no more than the project's budget", async () => {
    const { get, clock } = limitedApp({ requests: 3, projectRequests: 4, windowSeconds: 10, identify: byHeader });
    const from = (key: string, project: string) => get({ 'x-key-id': key, 'x-project-id': project });
    expect((await from('key_a', 'prj_1')).status).toBe(200);
    const second = await from('key_a', 'prj_1');
    expect(second.headers.get('ratelimit-policy')).toBe('"default";q=3;w=10, "project";q=4;w=10');
    expect(second.headers.get('ratelimit')).toBe('"default";r=1;t=10, "project";r=2;t=10');
    expect((await from('key_b', 'prj_1')).status).toBe(200);
    clock.ms += 4_000;
    expect((await from('key_c', 'prj_1')).status).toBe(200);
    // key_d has its whole own budget left; the project has none.
    const limited = await from('key_d', 'prj_1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('6');
    // Refused by the project's budget, it spent none of key_d's own.
    expect(limited.headers.get('ratelimit')).toBe('"default";r=3;t=10, "project";r=0;t=6');
    expect(await limited.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: expect.stringContaining("4 requests per 10 s for all of a project's API keys"),
      },
    });
    // Another project is untouched.
    expect((await from('key_e', 'prj_2')).status).toBe(200);
  });

  it("a key knocking past its own budget does not spend its project's, which the other keys share", async () => {
    const { get } = limitedApp({ requests: 2, projectRequests: 5, windowSeconds: 10, identify: byHeader });
    const from = (key: string) => get({ 'x-key-id': key, 'x-project-id': 'prj_1' });
    const noisy = [];
    for (let i = 0; i < 20; i++) noisy.push((await from('key_noisy')).status);
    expect(noisy).toEqual([200, 200, ...Array(18).fill(429)]);
    // The project spent 2 of its 5: key_quiet has its own 2, and the project 3 more.
    expect([(await from('key_quiet')).status, (await from('key_quiet')).status]).toEqual([200, 200]);
    expect((await from('key_third')).status).toBe(200);
    expect((await from('key_fourth')).status).toBe(429);
  });

  it('a request refused by one budget waits for the later of the budgets it spent', async () => {
    const { get, clock } = limitedApp({ requests: 1, projectRequests: 2, windowSeconds: 10, identify: byHeader });
    expect((await get({ 'x-key-id': 'key_a', 'x-project-id': 'prj_1' })).status).toBe(200);
    clock.ms += 5_000;
    // The project's window opened 5 s ago, key_b's opens now: both run out with this request.
    expect((await get({ 'x-key-id': 'key_b', 'x-project-id': 'prj_1' })).status).toBe(200);
    clock.ms += 1_000;
    const limited = await get({ 'x-key-id': 'key_b', 'x-project-id': 'prj_1' });
    expect(limited.status).toBe(429);
    // The project's budget is back in 4 s, key_b's in 9 s: retrying at 4 s would only meet a 429.
    expect(limited.headers.get('retry-after')).toBe('9');
  });
});
