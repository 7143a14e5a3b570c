import { type EndpointsListResponse, endpointsList } from '@herald/client/sdk';
import type { Command } from 'commander';
import type { Api } from '../api';
import { cursorDidNotAdvance, cursorDidNotEnd } from '../api';
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

/**
 * The most `listEveryEndpoint` reads: far beyond any project (Herald answers 100 endpoints a page), and
 * a bound on a server whose cursor never ends, each time with a new value the loop check cannot catch.
 */
export const MAX_ENDPOINT_PAGES = 1000;
export const MAX_ENDPOINTS = 100_000;

/** Every endpoint of the project, page after page (`trigger` looks for listen endpoints among them). */
export async function listEveryEndpoint(api: Api): Promise<EndpointsListResponse['data']> {
  const endpoints: EndpointsListResponse['data'] = [];
  // Every cursor followed so far: one that comes back would have the CLI ask for pages forever.
  const followed = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await api.list(
      'listing endpoints',
      endpointsList({ client: api.client, query: { limit: 100, ...(cursor ? { cursor } : {}) } }),
    );
    pages += 1;
    endpoints.push(...page.data);
    cursor = page.nextCursor ?? undefined;
    if (cursor !== undefined && followed.has(cursor)) throw cursorDidNotAdvance(api.config.apiUrl, 'listing endpoints');
    if (cursor !== undefined && (pages >= MAX_ENDPOINT_PAGES || endpoints.length >= MAX_ENDPOINTS)) {
      throw cursorDidNotEnd(api.config.apiUrl, 'listing endpoints', pages, endpoints.length);
    }
    if (cursor !== undefined) followed.add(cursor);
  } while (cursor);
  return endpoints;
}
