import { endpointsSendTest } from '@herald/client/sdk';
import type { Command } from 'commander';
import { contextFor } from '../context';
import { CliError } from '../errors';
import { listEveryEndpoint } from './endpoints-list';

type EventType = Parameters<typeof endpointsSendTest>[0]['body']['eventType'];

export function registerTrigger(parent: Command) {
  parent
    .command('trigger')
    .description('send a test event (the catalog’s example) to an endpoint; by default to every running herald listen')
    .argument('<event-type>', 'e.g. user.created (see GET /v1/event-types)')
    .option('--endpoint <id>', 'the endpoint to send it to (default: the project’s enabled listen endpoints)')
    .action(async (eventType: string, options: { endpoint?: string }, command: Command) => {
      const { api, out } = contextFor(command);
      let endpointIds = options.endpoint ? [options.endpoint] : [];
      if (!options.endpoint) {
        // Every page: listen endpoints have the newest ids, so in a project with more than a page of
        // endpoints they were past the first one, and trigger said no listen was running.
        const endpoints = await listEveryEndpoint(api);
        endpointIds = endpoints.filter((e) => e.kind === 'listen' && !e.disabled).map((e) => e.id);
        if (endpointIds.length === 0) {
          throw new CliError(
            'No herald listen is running for this project: start one, or pass --endpoint <id>',
            'no_endpoint',
          );
        }
      }
      const sent: { endpointId: string; eventId: string; eventType: string }[] = [];
      for (const id of endpointIds) {
        const answer = await api.call(
          `sending a test ${eventType}`,
          endpointsSendTest({ client: api.client, path: { id }, body: { eventType: eventType as EventType } }),
        );
        sent.push({ endpointId: id, ...answer });
      }
      out.result(sent, (list) =>
        list.map((s) => `${out.colors.green('Sent')} ${s.eventType} ${s.eventId} to ${s.endpointId}`),
      );
    });
}
