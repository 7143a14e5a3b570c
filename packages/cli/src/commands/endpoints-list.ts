import { type EndpointsListResponse, endpointsList } from '@herald/client/sdk';
import type { Command } from 'commander';
import { contextFor } from '../context';
import { table } from '../output';

export function registerEndpointsList(parent: Command) {
  parent
    .command('list')
    .description('list the project’s webhook endpoints (kind listen: herald listen sessions)')
    .action(async (_options, command: Command) => {
      const { api, out } = contextFor(command);
      const endpoints: EndpointsListResponse['data'] = [];
      let cursor: string | undefined;
      do {
        const page = await api.call(
          'listing endpoints',
          endpointsList({ client: api.client, query: { limit: 100, ...(cursor ? { cursor } : {}) } }),
        );
        endpoints.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      out.result(endpoints, () =>
        endpoints.length === 0
          ? 'No endpoints.'
          : table([
              ['ID', 'KIND', 'STATE', 'EVENTS', 'URL'],
              ...endpoints.map((e) => [
                e.id,
                e.kind,
                e.disabled ? `disabled (${e.disabledReason ?? 'by hand'})` : 'enabled',
                e.eventTypes?.join(',') ?? 'all',
                e.url,
              ]),
            ]),
      );
    });
}
