import { endpointsCreate } from '@herald/client/sdk';
import type { Command } from 'commander';
import { commaList, contextFor } from '../context';

type EventType = NonNullable<NonNullable<Parameters<typeof endpointsCreate>[0]['body']['eventTypes']>>[number];

export function registerEndpointsCreate(parent: Command) {
  parent
    .command('create')
    .description('create a webhook endpoint; prints its signing secret (shown once)')
    .requiredOption(
      '--url <url>',
      'where Herald sends webhooks (public https unless the server allows private networks)',
    )
    .option('--events <types>', 'comma-separated event types (default: every type)', commaList)
    .option('--description <text>', 'a note for people')
    .action(async (options: { url: string; events?: string[]; description?: string }, command: Command) => {
      const { api, out } = contextFor(command);
      const created = await api.call(
        'creating the endpoint',
        endpointsCreate({
          client: api.client,
          body: {
            url: options.url,
            ...(options.events ? { eventTypes: options.events as EventType[] } : {}),
            ...(options.description ? { description: options.description } : {}),
          },
        }),
      );
      out.result(created, (c) => [
        `${out.colors.green('Created')} endpoint ${c.endpoint?.id} → ${c.endpoint?.url}`,
        `Signing secret: ${c.secret}  (shown once; \`herald verify --secret …\` checks a payload with it)`,
      ]);
    });
}
