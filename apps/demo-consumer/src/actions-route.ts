import { randomBytes } from 'node:crypto';
import type { HeraldClient } from '@herald/client';
import { Hono } from 'hono';
import { errorMessage, heraldErrorCode } from './herald-event';
import type { LiveTimeline } from './live-timeline';

/** The user the page's buttons act on: the last one it created. Kept in memory only. */
interface DemoAccount {
  userId: string;
  email: string;
  password: string;
}

/** A button that needs a user was pressed before "create user": the caller's mistake, not the platform's. */
class NoAccountError extends Error {
  constructor() {
    super('create a user first');
  }
}

const randomPassword = () => randomBytes(12).toString('base64url');

/**
 * POST /actions/*: the page's buttons. Each calls the platform through the
 * typed client, as any customer code would, and records what it did; the
 * webhooks that result arrive on their own.
 */
export function createActionsRoute(options: { heraldClient: HeraldClient; timeline: LiveTimeline }) {
  const { heraldClient, timeline } = options;
  let account: DemoAccount | null = null;
  const route = new Hono();

  /** Runs an action, records it on the timeline, answers with its outcome. */
  async function act(name: string, run: () => Promise<{ summary: string; detail?: Record<string, unknown> }>) {
    try {
      const outcome = await run();
      await timeline.record({
        kind: 'action',
        summary: `${name}: ${outcome.summary}`,
        detail: { action: name, ...outcome.detail },
      });
      return { status: 200 as const, body: { ok: true, action: name, ...outcome } };
    } catch (error) {
      const code = error instanceof NoAccountError ? 'no_user' : (heraldErrorCode(error) ?? 'failed');
      const summary = `${code}: ${errorMessage(error)}`;
      await timeline.record({
        kind: 'action',
        ok: false,
        summary: `${name}: ${summary}`,
        detail: { action: name, error: code },
      });
      return {
        status: error instanceof NoAccountError ? (409 as const) : (502 as const),
        body: { ok: false, action: name, summary },
      };
    }
  }

  const needsAccount = () => {
    if (!account) throw new NoAccountError();
    return account;
  };

  route.post('/actions/create-user', async (c) => {
    const result = await act('create user', async () => {
      const email = `demo-${randomBytes(4).toString('hex')}@example.com`;
      const password = randomPassword();
      const user = await heraldClient.users.create.mutate({ email, password, name: 'Demo user' });
      account = { userId: user.id, email, password };
      return { summary: `users.create → ${user.id} (${email})`, detail: { userId: user.id, email } };
    });
    return c.json(result.body, result.status);
  });

  route.post('/actions/failed-login', async (c) => {
    const result = await act('failed login', async () => {
      const { email, userId } = needsAccount();
      try {
        await heraldClient.logins.create.mutate({ email, password: `wrong-${randomPassword()}` });
      } catch (error) {
        const code = heraldErrorCode(error);
        if (code === 'invalid_credentials' || code === 'user_locked') {
          return { summary: `logins.create with a wrong password → ${code} (as intended)`, detail: { userId } };
        }
        throw error;
      }
      throw new Error('the platform accepted a wrong password');
    });
    return c.json(result.body, result.status);
  });

  route.post('/actions/change-password', async (c) => {
    const result = await act('change password', async () => {
      const current = needsAccount();
      const password = randomPassword();
      await heraldClient.users.setPassword.mutate({ id: current.userId, password });
      account = { ...current, password };
      return { summary: `users.setPassword ${current.userId} → ok`, detail: { userId: current.userId } };
    });
    return c.json(result.body, result.status);
  });

  route.post('/actions/delete-user', async (c) => {
    const result = await act('delete user', async () => {
      const { userId } = needsAccount();
      await heraldClient.users.delete.mutate({ id: userId });
      account = null;
      return { summary: `users.delete ${userId} → ok`, detail: { userId } };
    });
    return c.json(result.body, result.status);
  });

  route.get('/actions/account', (c) =>
    c.json({ account: account ? { userId: account.userId, email: account.email } : null }),
  );

  return route;
}
