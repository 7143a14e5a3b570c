import { endpointsDeliveries, endpointsList } from '@herald/client/sdk';
import type { Command, Option } from 'commander';
import { contextFor, positiveInt } from '../context';
import { table } from '../output';

const STATUSES = ['pending', 'in_flight', 'succeeded', 'failed'] as const;
type Status = (typeof STATUSES)[number];

export function registerDeliveriesList(parent: Command) {
  parent
    .command('list')
    .description('list recent deliveries, newest first (of one endpoint, or of every endpoint)')
    .option('--endpoint <id>', 'only this endpoint’s deliveries')
    .addOption(statusOption(parent))
    .option('--limit <n>', 'how many (at most 100)', positiveInt('--limit'), 20)
    .action(async (options: { endpoint?: string; status?: Status; limit: number }, command: Command) => {
      const { api, out } = contextFor(command);
      const limit = Math.min(options.limit, 100);
      let endpointIds = options.endpoint ? [options.endpoint] : [];
      if (!options.endpoint) {
        const endpoints = await api.call(
          'listing endpoints',
          endpointsList({ client: api.client, query: { limit: 100 } }),
        );
        endpointIds = endpoints.data.map((e) => e.id);
      }
      const pages = await Promise.all(
        endpointIds.map((id) =>
          api.call(
            'listing deliveries',
            endpointsDeliveries({
              client: api.client,
              path: { id },
              query: { limit: 100, ...(options.status ? { status: options.status } : {}) },
            }),
          ),
        ),
      );
      // Delivery ids sort by time: the newest across endpoints first.
      const deliveries = pages
        .flatMap((p) => p.data)
        .sort((a, b) => (a.id < b.id ? 1 : -1))
        .slice(0, limit);
      out.result(deliveries, () =>
        deliveries.length === 0
          ? 'No deliveries.'
          : table([
              ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST', 'ENDPOINT', 'CREATED'],
              ...deliveries.map((d) => [
                d.id,
                d.eventType,
                d.status,
                String(d.attemptCount),
                d.lastStatusCode === null ? (d.lastError ?? '-') : String(d.lastStatusCode),
                d.endpointId,
                d.createdAt,
              ]),
            ]),
      );
    });
}

function statusOption(parent: Command): Option {
  return parent
    .createOption('--status <status>', 'only deliveries in this state')
    .choices(STATUSES as unknown as string[]);
}
