import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface DemoState {
  apiKey: string;
  endpointId: string;
  secret: string;
}

async function call<T>(
  platformUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await fetch(`${platformUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as T };
}

/**
 * The demo project, its API key and the consumer's endpoint (FIFO ordering):
 * reused from the last run when they still work, created through the REST API otherwise.
 */
export async function ensureDemoProject(options: {
  platformUrl: string;
  adminToken: string;
  webhookUrl: string;
  statePath: string;
}): Promise<DemoState> {
  const { platformUrl, webhookUrl, statePath } = options;
  if (existsSync(statePath)) {
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as DemoState;
    const endpoint = await call<{ url: string; ordering?: string }>(
      platformUrl,
      saved.apiKey,
      'GET',
      `/v1/endpoints/${saved.endpointId}`,
    );
    if (endpoint.status === 200) {
      // The consumer may have a new port this time, and an endpoint from an older demo may predate FIFO.
      if (endpoint.json.url !== webhookUrl || endpoint.json.ordering !== 'fifo') {
        await call(platformUrl, saved.apiKey, 'PATCH', `/v1/endpoints/${saved.endpointId}`, {
          url: webhookUrl,
          disabled: false,
          ordering: 'fifo',
        });
      }
      return saved;
    }
  }
  const project = await call<{ apiKey: { key: string } }>(platformUrl, options.adminToken, 'POST', '/v1/projects', {
    name: 'Herald demo',
  });
  if (project.status !== 201) throw new Error(`creating the demo project failed: ${JSON.stringify(project.json)}`);
  const apiKey = project.json.apiKey.key;
  const endpoint = await call<{ endpoint: { id: string }; secret: string }>(
    platformUrl,
    apiKey,
    'POST',
    '/v1/endpoints',
    {
      url: webhookUrl,
      description: 'Herald demo consumer',
      // One user's events arrive one at a time, in sequence order (the consumer still skips a stale one).
      ordering: 'fifo',
    },
  );
  if (endpoint.status !== 201)
    throw new Error(`registering the demo endpoint failed: ${JSON.stringify(endpoint.json)}`);
  const state: DemoState = { apiKey, endpointId: endpoint.json.endpoint.id, secret: endpoint.json.secret };
  // Local demo credentials only; the file lives in the gitignored .data folder.
  writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return state;
}
