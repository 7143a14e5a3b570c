import { endpointsCreateListen, endpointsDelete } from '@herald/client/sdk';
import type { RelayedDelivery } from '@herald/delivery';
import type { Command } from 'commander';
import { type Api, apiError } from '../api';
import { commaList, contextFor, positiveInt } from '../context';
import { CliError } from '../errors';
import { type ForwardResult, forwardDelivery } from '../forward';
import type { Output } from '../output';
import { readServerSentEvents } from '../sse';

type EventType = NonNullable<Parameters<typeof endpointsCreateListen>[0]['body']['eventTypes']>[number];

interface ListenOptions {
  forwardTo: string;
  events?: string[];
  timeout: number;
}

export function registerListen(parent: Command) {
  parent
    .command('listen')
    .description(
      'forward the project’s webhooks to a local URL: creates a development endpoint, streams its deliveries ' +
        'from the API, reports each local answer back (retries work as in production); Ctrl-C removes it',
    )
    .requiredOption('--forward-to <url>', 'local URL that receives the webhooks, e.g. http://localhost:3000/webhooks')
    .option('--events <types>', 'comma-separated event types (default: every type)', commaList)
    .option('--timeout <ms>', 'how long the local URL may take to answer', positiveInt('--timeout'), 10_000)
    .action(async (options: ListenOptions, command: Command) => {
      const { api, out } = contextFor(command);
      assertForwardUrl(options.forwardTo);
      const stopSpinner = out.spinner('creating a development endpoint');
      const created = await api
        .call(
          'creating the development endpoint',
          endpointsCreateListen({
            client: api.client,
            body: {
              forwardTo: options.forwardTo,
              ...(options.events ? { eventTypes: options.events as EventType[] } : {}),
            },
          }),
        )
        .finally(stopSpinner);
      const endpointId = created.endpoint.id;
      out.line(
        {
          type: 'ready',
          endpointId,
          forwardTo: options.forwardTo,
          eventTypes: options.events ?? null,
          secret: created.secret,
        },
        () =>
          [
            `${out.colors.green('Ready!')} Forwarding ${options.events?.join(', ') ?? 'every event'} to ${options.forwardTo}`,
            `Signing secret: ${created.secret}  (development endpoint ${endpointId}; Ctrl-C to stop and remove it)`,
          ].join('\n'),
      );

      const stopping = new AbortController();
      const stop = () => stopping.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await relay(api, out, endpointId, options, stopping.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await removeEndpoint(api, out, endpointId);
      }
    });
}

function assertForwardUrl(text: string) {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CliError(
      `--forward-to must be an http(s) URL, e.g. http://localhost:3000/webhooks (got "${text}")`,
      'invalid_input',
    );
  }
}

/** Reads the stream until stopped, reconnecting after a dropped connection; in-flight forwards finish first. */
async function relay(api: Api, out: Output, endpointId: string, options: ListenOptions, signal: AbortSignal) {
  const inFlight = new Set<Promise<void>>();
  let backoffMs = 500;
  try {
    while (!signal.aborted) {
      let response: Response;
      try {
        response = await api.fetch(`/v1/endpoints/${endpointId}/listen`, {
          headers: { accept: 'text/event-stream' },
          signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        out.note(`${out.colors.yellow('!')} ${(error as Error).message}; retrying in ${backoffMs} ms`);
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 5_000);
        continue;
      }
      if (response.status !== 200 || !response.body) {
        throw apiError(
          api.config.apiUrl,
          'opening the listen stream',
          response,
          await response.json().catch(() => null),
        );
      }
      backoffMs = 500;
      let session = '';
      try {
        for await (const event of readServerSentEvents(response.body)) {
          if (event.event === 'session') session = (JSON.parse(event.data) as { session: string }).session;
          else if (event.event === 'gone') {
            throw new CliError(`The development endpoint ${endpointId} was deleted`, 'endpoint_gone');
          } else if (event.event === 'delivery') {
            const delivery = JSON.parse(event.data) as RelayedDelivery;
            const work = handle(api, out, endpointId, session, delivery, options);
            inFlight.add(work);
            void work.finally(() => inFlight.delete(work));
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof CliError) throw error;
      }
      if (!signal.aborted) out.note(`${out.colors.yellow('!')} the stream ended; reconnecting`);
    }
  } finally {
    await Promise.allSettled([...inFlight]);
  }
}

/** Forwards one delivery, prints its line, and reports the local answer as the attempt's outcome. */
async function handle(
  api: Api,
  out: Output,
  endpointId: string,
  session: string,
  delivery: RelayedDelivery,
  options: ListenOptions,
) {
  const result = await forwardDelivery(options.forwardTo, delivery, options.timeout);
  printDelivery(out, delivery, result);
  try {
    const answer = await api.fetch(`/v1/endpoints/${endpointId}/listen/attempts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session, deliveryId: delivery.deliveryId, ...result }),
    });
    if (answer.status === 409)
      out.note(`  ${delivery.deliveryId}: the lease ended before the report; Herald sends it again`);
    else if (!answer.ok) out.note(`  ${delivery.deliveryId}: the report was refused (HTTP ${answer.status})`);
  } catch (error) {
    out.note(`  ${delivery.deliveryId}: the report failed (${(error as Error).message}); Herald sends it again`);
  }
}

function printDelivery(out: Output, delivery: RelayedDelivery, result: ForwardResult) {
  const time = new Date().toISOString().slice(11, 19);
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const status = result.statusCode === null ? (result.errorClass ?? 'error') : String(result.statusCode);
  out.line(
    {
      type: 'delivery',
      time: new Date().toISOString(),
      eventType: delivery.eventType,
      eventId: delivery.eventId,
      deliveryId: delivery.deliveryId,
      attempt: delivery.attempt,
      statusCode: result.statusCode,
      errorClass: result.errorClass,
      durationMs: result.durationMs,
    },
    () =>
      [
        out.colors.dim(time),
        delivery.eventType.padEnd(22),
        delivery.eventId,
        (ok ? out.colors.green : out.colors.red)(status.padStart(3)),
        `${result.durationMs} ms`,
        delivery.attempt > 1 ? out.colors.dim(`(attempt ${delivery.attempt})`) : '',
      ]
        .join('  ')
        .trimEnd(),
  );
}

async function removeEndpoint(api: Api, out: Output, endpointId: string) {
  try {
    await api.call(
      'removing the development endpoint',
      endpointsDelete({ client: api.client, path: { id: endpointId } }),
    );
    out.line({ type: 'stopped', endpointId, removed: true }, () => `Removed the development endpoint ${endpointId}`);
  } catch (error) {
    if (error instanceof CliError && error.code === 'not_found') return;
    throw error;
  }
}

function sleep(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
