import { deliveriesRetry } from '@herald/client/sdk';
import type { Command } from 'commander';
import { contextFor } from '../context';

export function registerDeliveriesRetry(parent: Command) {
  parent
    .command('retry')
    .description('send a delivery again now (a new attempt; its history stays)')
    .argument('<delivery-id>', 'dlv_…')
    .action(async (id: string, _options, command: Command) => {
      const { api, out } = contextFor(command);
      const delivery = await api.call('retrying the delivery', deliveriesRetry({ client: api.client, path: { id } }));
      out.result(delivery, (d) => `${out.colors.green('Queued')} ${d.id} (${d.eventType}) for another attempt`);
    });
}
