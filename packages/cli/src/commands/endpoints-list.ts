import { type EndpointsListResponse, endpointsList } from '@herald/client/sdk';
import type { Command } from 'commander';
import type { Api } from '../api';
import { cursorDidNotAdvance } from '../api';
import { contextFor } from '../context';
import { table } from '../output';

export function registerEndpointsList(parent: Command) {
  parent
    .command('list')
    .description('list the project’s webhook endpoints (kind listen: herald listen sessions)')
    .action(async (_options, command: Command) => {
      const { api, out } = contextFor(command);
      const endpoints = await listEveryEndpoint(api);
      out.result(endpoints, (list) =>
        list.length === 0
          ? 'No endpoints.'
          : table([
              ['ID', 'KIND', 'STATE', 'EVENTS', 'URL'],
              ...list.map((e) => [
                e.id,
                e.kind,
                e.disabled ? `disabled (${e.disabledReason ?? 'by hand'})` : 'enabled',
                Array.isArray(e.eventTypes) ? e.eventTypes.join(',') : 'all',
                e.url,
              ]),
            ]),
      );
    });
}

/** Every endpoint of the project, page after page (`trigger` looks for listen endpoints among them). */
export async function listEveryEndpoint(api: Api): Promise<EndpointsListResponse['data']> {
  const endpoints: EndpointsListResponse['data'] = [];
  // Every cursor followed so far: one that comes back would have the CLI ask for pages forever.
  const followed = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await api.list(
      'listing endpoints',
      endpointsList({ client: api.client, query: { limit: 100, ...(cursor ? { cursor } : {}) } }),
    );
    endpoints.push(...page.data);
    cursor = page.nextCursor ?? undefined;
    if (cursor !== undefined && followed.has(cursor)) throw cursorDidNotAdvance(api.config.apiUrl, 'listing endpoints');
    if (cursor !== undefined) followed.add(cursor);
  } while (cursor);
  return endpoints;
}
