// Compiled with `tsc --strict` against the installed tarballs (tests/packaging/run.sh), then run
// against a live Herald: one user created through the tRPC client, one through the REST SDK, and
// the `user.created` webhook the dispatcher sends for it received and verified with @herald/webhooks.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHeraldClient, createHeraldRestClient, TRPCClientError } from '@herald/client';
import { endpointsCreate, usersCreate, usersGet } from '@herald/client/sdk';
import { type HeraldEvent, isKnownEvent, verifyWebhook } from '@herald/webhooks';

const baseUrl = process.env.HERALD_URL ?? '';
const apiKey = process.env.HERALD_API_KEY ?? '';
const suffix = Date.now().toString(36);

// A receiver for the project's webhooks: every request's raw body and headers, as sent.
const received: Array<{ body: string; headers: Record<string, string> }> = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    received.push({ body: Buffer.concat(chunks).toString('utf8'), headers });
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`;

const client = createHeraldRestClient({ baseUrl, apiKey });
const endpoint = await endpointsCreate({
  client,
  body: { url: receiverUrl, eventTypes: ['user.created'] },
  throwOnError: true,
});
const secret: string = endpoint.data.secret;

const herald = createHeraldClient({ baseUrl, apiKey });
const viaTrpc = await herald.users.create.mutate({ email: `trpc-${suffix}@example.com`, name: 'Ada' });
// Typed output: `id` is a string, `roles` an array of strings.
const trpcId: string = viaTrpc.id;
const roles: string[] = viaTrpc.roles;
// The error class comes from @herald/client itself (pnpm does not hoist @trpc/client for a project).
const missing = await herald.users.get.query({ id: 'usr_00000000000000000000000000' }).catch((error: unknown) => error);
if (!(missing instanceof TRPCClientError) || missing.data?.herald.code !== 'not_found') {
  throw new Error(`users.get of a missing user: expected a TRPCClientError not_found, got ${String(missing)}`);
}

const created = await usersCreate({ client, body: { email: `rest-${suffix}@example.com`, name: 'Grace' } });
if (created.error) throw new Error(`usersCreate: ${created.response.status} ${created.error.error.code}`);
const fetched = await usersGet({ client, path: { id: created.data.id }, throwOnError: true });

if (!trpcId.startsWith('usr_') || !Array.isArray(roles))
  throw new Error(`users.create answered ${JSON.stringify(viaTrpc)}`);
if (fetched.data.email !== `rest-${suffix}@example.com`)
  throw new Error(`usersGet answered ${JSON.stringify(fetched.data)}`);

// The dispatcher's webhook for the tRPC-created user, verified with the endpoint's secret.
async function webhookFor(userId: string): Promise<HeraldEvent> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const { body, headers } of received) {
      const result = verifyWebhook(body, headers, { secrets: [secret] });
      if (!result.ok) throw new Error(`a received webhook failed verification: ${result.rejection.message}`);
      const { event } = result;
      // Narrowed to the catalog's union, then by `type`: `data.user` is typed for `user.created`.
      if (isKnownEvent(event) && event.type === 'user.created' && event.data.user.id === userId) return event;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no user.created webhook for ${userId} within 30 s (received ${received.length})`);
}
const event = await webhookFor(trpcId);
// A tampered body must not verify.
const tampered = verifyWebhook(received[0]!.body.replace('user.created', 'user.updated'), received[0]!.headers, {
  secrets: [secret],
});
if (tampered.ok) throw new Error('a tampered webhook verified');
receiver.close();
console.log(JSON.stringify({ trpc: trpcId, rest: fetched.data.id, webhook: event.id }));
