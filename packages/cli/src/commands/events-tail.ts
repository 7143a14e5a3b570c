import { eventsList } from '@herald/client/sdk';
import type { Command } from 'commander';
import { contextFor, positiveInt } from '../context';

type EventType = NonNullable<NonNullable<Parameters<typeof eventsList>[0]>['query']>['type'];

export function registerEventsTail(parent: Command) {
  parent
    .command('tail')
    .description('print the project’s events as they happen (the event feed, polled), until Ctrl-C')
    .option('--type <type>', 'only events of this type')
    .option('--from-start', 'print the whole feed first instead of only new events')
    .option('--interval <ms>', 'polling interval', positiveInt('--interval'), 1000)
    .option('--count <n>', 'exit after this many events', positiveInt('--count'))
    .action(
      async (options: { type?: string; fromStart?: boolean; interval: number; count?: number }, command: Command) => {
        const { api, out } = contextFor(command);
        const type = options.type as EventType;
        let stopped = false;
        const stop = () => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        let after: string | undefined;
        let printed = 0;
        const page = async () => {
          const query = { limit: 100, ...(type ? { type } : {}), ...(after ? { after } : {}) };
          const answer = await api.call('reading the event feed', eventsList({ client: api.client, query }));
          if (answer.data.length > 0) after = answer.data.at(-1)!.id;
          return answer.data;
        };
        if (!options.fromStart) {
          // Skip to the end of the feed: only events from now on are printed.
          while ((await page()).length === 100) {}
        }
        const stopSpinner = out.spinner('waiting for events (Ctrl-C to stop)');
        try {
          while (!stopped) {
            const events = await page();
            for (const event of events) {
              stopSpinner();
              out.line(event, () => `${event.timestamp}  ${out.colors.bold(event.type)}  ${event.id}`);
              printed += 1;
              if (options.count !== undefined && printed >= options.count) return;
            }
            if (events.length < 100) await sleepUnless(options.interval, () => stopped);
          }
        } finally {
          stopSpinner();
          process.off('SIGINT', stop);
        }
      },
    );
}

async function sleepUnless(ms: number, stopped: () => boolean) {
  const until = Date.now() + ms;
  while (!stopped() && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
}
