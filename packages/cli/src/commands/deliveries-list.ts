import { deliveriesList } from '@herald/client/sdk';
import type { Command } from 'commander';
import { contextFor, positiveInt } from '../context';
import { table } from '../output';

type Query = NonNullable<NonNullable<Parameters<typeof deliveriesList>[0]>['query']>;
const STATUSES = ['pending', 'in_flight', 'succeeded', 'failed'];

export function registerDeliveriesList(parent: Command) {
  parent
    .command('list')
    .description('the delivery log: recent deliveries, newest first')
    .option('--endpoint <id>', 'only this endpoint’s deliveries')
    .option('--event <id>', 'only this event’s deliveries')
    .option('--type <event-type>', 'only deliveries of this event type')
    .addOption(parent.createOption('--status <status>', 'only deliveries in this state').choices(STATUSES))
    .option('--limit <n>', 'how many (at most 100)', positiveInt('--limit'), 20)
    .action(
      async (
        options: { endpoint?: string; event?: string; type?: string; status?: string; limit: number },
        command: Command,
      ) => {
        const { api, out } = contextFor(command);
        const query: Query = {
          limit: Math.min(options.limit, 100),
          ...(options.endpoint ? { endpointId: options.endpoint } : {}),
          ...(options.event ? { eventId: options.event } : {}),
          ...(options.type ? { eventType: options.type as Query['eventType'] } : {}),
          ...(options.status ? { status: options.status as Query['status'] } : {}),
        };
        const { data: deliveries } = await api.list(
          'listing deliveries',
          deliveriesList({ client: api.client, query }),
        );
        out.result(deliveries, (list) =>
          list.length === 0
            ? 'No deliveries.'
            : table([
                ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST', 'ENDPOINT', 'CREATED'],
                ...list.map((d) => [
                  d.id,
                  d.eventType,
                  d.status,
                  d.attemptCount,
                  d.lastStatusCode === null ? (d.lastError ?? '-') : d.lastStatusCode,
                  d.endpointId,
                  d.createdAt,
                ]),
              ]),
        );
      },
    );
}
