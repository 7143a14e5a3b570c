import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from '../src/index';
import * as sdk from '../src/sdk';

const modules: Record<string, Record<string, unknown>> = { '@herald/client': client, '@herald/client/sdk': sdk };

/**
 * The README's REST SDK example, run as written: its imports become arguments (from this package's
 * source), its TypeScript is stripped, and its client is pointed at `baseUrl`.
 */
function readmeRestExample(baseUrl: string): () => Promise<void> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## REST SDK')))?.[1] ?? '';
  const imported: Record<string, unknown> = {};
  for (const [, names, from] of code.matchAll(/^import \{([^}]*)\} from '([^']+)';$/gm)) {
    for (const name of names!.split(',').map((n) => n.trim())) {
      expect(modules[from!]?.[name], `${name} from ${from}`).toBeDefined();
      imported[name] = modules[from!]![name];
    }
  }
  imported.createHeraldRestClient = (options: client.HeraldRestClientOptions) =>
    client.createHeraldRestClient({ ...options, baseUrl });
  const body = ts.transpileModule(code.replace(/^import .*$/gm, ''), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const AsyncFunction = (async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<void>;
  const run = new AsyncFunction(...Object.keys(imported), 'process', body.replace(/^export \{\};$/m, ''));
  return () => run(...Object.values(imported), { env: { HERALD_API_KEY: 'sk_test' } });
}

const signUpKeys: (string | undefined)[] = [];
let lastUser = 0;

/**
 * Answers the example's calls as the API does. An `Idempotency-Key` is kept for 24 h, and the example
 * deletes the user it signed up: sending its key again answers 409 `conflict`, as the API does for
 * a stored answer whose user was erased.
 */
const api = createServer((req: IncomingMessage, res: ServerResponse) => {
  let text = '';
  req.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  req.on('end', () => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = new URL(req.url ?? '/', 'http://api');
    const id = `usr_${String(lastUser).padStart(26, '0')}`;
    const user = {
      id,
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      roles: ['admin'],
      metadata: {},
      status: 'active',
      createdAt: '2025-01-15T09:30:00.000Z',
      updatedAt: '2025-01-15T09:30:00.000Z',
    };
    if (req.method === 'POST' && url.pathname === '/v1/users') {
      const key = req.headers['idempotency-key'] as string | undefined;
      if (key !== undefined && signUpKeys.includes(key)) {
        json(409, { error: { code: 'conflict', message: 'The stored answer of this Idempotency-Key was erased' } });
        return;
      }
      signUpKeys.push(key);
      lastUser++;
      json(201, { ...user, id: `usr_${String(lastUser).padStart(26, '0')}`, ...JSON.parse(text) });
    } else if (req.method === 'GET' && url.pathname === '/v1/users') json(200, { data: [user], nextCursor: null });
    else if (req.method === 'DELETE' && url.pathname === `/v1/users/${id}`) json(200, { id, deleted: true });
    else if (url.pathname === `/v1/users/${id}`) json(200, user);
    else json(404, { error: { code: 'not_found', message: `${req.method} ${url.pathname}` } });
  });
});
let baseUrl = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

describe('the README’s REST SDK example', () => {
  it('can be run twice: each run signs up with an Idempotency-Key of its own', async () => {
    const example = readmeRestExample(baseUrl);
    await example();
    // A fixed key (`signup-42`) answered 409 here: the example threw `409 conflict`.
    await example();
    expect(signUpKeys).toHaveLength(2);
    expect(signUpKeys[0]).toBeDefined();
    expect(signUpKeys[1]).not.toBe(signUpKeys[0]);
  });
});
