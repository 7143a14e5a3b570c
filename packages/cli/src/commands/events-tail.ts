import { eventsList } from '@herald/client/sdk';
import type { Command } from 'commander';
import { cursorDidNotAdvance } from '../api';
import { sleep } from '../backoff';
import { contextFor, positiveInt, timerMilliseconds } from '../context';

type EventType = NonNullable<NonNullable<Parameters<typeof eventsList>[0]>['query']>['type'];

const PAGE_SIZE = 100;

export function registerEventsTail(parent: Command) {
  parent
    .command('tail')
    .description('print the project’s events as they happen (the event feed, polled), until Ctrl-C')
    .option('--type <type>', 'only events of this type')
    .option('--from-start', 'print the whole feed first instead of only new events')
    .option('--interval <ms>', 'polling interval', timerMilliseconds('--interval'), 1000)
    .option('--count <n>', 'exit after this many events', positiveInt('--count'))
    .action(
      async (options: { type?: string; fromStart?: boolean; interval: number; count?: number }, command: Command) => {
        const { api, out } = contextFor(command);
        const type = options.type as EventType;
        // Ctrl-C aborts the request in flight too: a hung API must not make it wait out the deadline. One
        // controller per request, not one signal for all: Node 20's AbortSignal.any (the request deadline)
        // keeps a reference per call to a long-lived signal it follows.
        const stopping = new AbortController();
        let request = new AbortController();
        const stop = () => {
          stopping.abort();
          request.abort();
        };
        process.once('SIGINT', stop);
        let after: string | undefined;
        let printed = 0;
        const page = async () => {
          const query = { limit: PAGE_SIZE, ...(type ? { type } : {}), ...(after ? { after } : {}) };
          request = new AbortController();
          const answer = await api.list(
            'reading the event feed',
            eventsList({ client: api.client, query, signal: request.signal }),
          );
          // A page that holds the event it was asked to start after leads back to itself: polling it
          // again would loop (and print the same events) forever.
          if (after !== undefined && answer.data.some((event) => event.id === after)) {
            throw cursorDidNotAdvance(api.config.apiUrl, 'reading the event feed');
          }
          if (answer.data.length > 0) after = answer.data.at(-1)!.id;
          return answer.data;
        };
        const stopSpinner = out.spinner('waiting for events (Ctrl-C to stop)');
        try {
          if (!options.fromStart) {
            // Skip to the end of the feed: only events from now on are printed.
            while (!stopping.signal.aborted && (await page()).length === PAGE_SIZE) {}
          }
          while (!stopping.signal.aborted) {
            const events = await page();
            for (const event of events) {
              stopSpinner();
              out.line(event, (e) => `${e.timestamp}  ${out.colors.bold(e.type)}  ${e.id}`);
              printed += 1;
              if (options.count !== undefined && printed >= options.count) return;
            }
            if (events.length < PAGE_SIZE) await sleep(options.interval, stopping.signal);
          }
        } catch (error) {
          // Stopped with Ctrl-C while a request was out: that is the normal end of a tail.
          if (!stopping.signal.aborted) throw error;
        } finally {
          stopSpinner();
          process.off('SIGINT', stop);
        }
      },
    );
}
