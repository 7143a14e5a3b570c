// Compiled with `tsc --strict` against the installed tarball (tests/packaging/run.sh), then run
// against a live Herald: one user created through the tRPC client, one through the REST SDK.
import { createHeraldClient, createHeraldRestClient } from '@herald/client';
import { usersCreate, usersGet } from '@herald/client/sdk';

const baseUrl = process.env.HERALD_URL ?? '';
const apiKey = process.env.HERALD_API_KEY ?? '';
const suffix = Date.now().toString(36);

const herald = createHeraldClient({ baseUrl, apiKey });
const viaTrpc = await herald.users.create.mutate({ email: `trpc-${suffix}@example.com`, name: 'Ada' });
// Typed output: `id` is a string, `roles` an array of strings.
const trpcId: string = viaTrpc.id;
const roles: string[] = viaTrpc.roles;

const client = createHeraldRestClient({ baseUrl, apiKey });
const created = await usersCreate({ client, body: { email: `rest-${suffix}@example.com`, name: 'Grace' } });
if (created.error) throw new Error(`usersCreate: ${created.response.status} ${created.error.error.code}`);
const fetched = await usersGet({ client, path: { id: created.data.id }, throwOnError: true });

if (!trpcId.startsWith('usr_') || !Array.isArray(roles))
  throw new Error(`users.create answered ${JSON.stringify(viaTrpc)}`);
if (fetched.data.email !== `rest-${suffix}@example.com`)
  throw new Error(`usersGet answered ${JSON.stringify(fetched.data)}`);
console.log(JSON.stringify({ trpc: trpcId, rest: fetched.data.id }));
