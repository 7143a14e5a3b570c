import { setMaxListeners } from 'node:events';
import { endpointsCreateListen, endpointsDelete } from '@herald/client/sdk';
import type { RelayedDelivery } from '@herald/delivery';
import type { Command } from 'commander';
import type { Api } from '../api';
import { createBackoff, sleep } from '../backoff';
import { withoutUserinfo } from '../config';
import { commaList, contextFor, timerMilliseconds } from '../context';
import { CliError, describeFailure } from '../errors';
import { type ForwardResult, forwardDelivery } from '../forward';
import { createForwardPool, type Forward, MAX_FORWARDS_IN_FLIGHT } from '../forward-pool';
import { followListenStream } from '../listen-stream';
import type { Output } from '../output';
import { parseRetryAfter } from '../retry-after';
import { createUnreportedAnswers, type UnreportedAnswers } from '../unreported-answers';

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
    .option('--timeout <ms>', 'how long the local URL may take to answer', timerMilliseconds('--timeout'), 10_000)
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
      const stopping = new AbortController();
      // Every forward in flight listens for the stop, and the stream and its backoff too: more than
      // Node's default of 10 is expected here, not a leak to warn about.
      setMaxListeners(MAX_FORWARDS_IN_FLIGHT + 4, stopping.signal);
      const stop = () => stopping.abort();
      // SIGHUP too: a closed terminal window sends it, and its endpoint would be left behind. Before
      // the ready line: a signal sent as soon as it is read found no handler yet and killed the CLI
      // with its endpoint left (a race of the two processes, one run in three in a test).
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.once('SIGHUP', stop);
      try {
        out.line(
          {
            type: 'ready',
            endpointId,
            forwardTo: options.forwardTo,
            eventTypes: options.events ?? null,
            secret: created.secret,
          },
          (ready) =>
            [
              `${out.colors.green('Ready!')} Forwarding ${ready.eventTypes?.join(', ') ?? 'every event'} to ${ready.forwardTo}`,
              `Signing secret: ${ready.secret}  (development endpoint ${ready.endpointId}; Ctrl-C to stop and remove it)`,
            ].join('\n'),
        );
        await relay(api, out, endpointId, options, stopping.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.off('SIGHUP', stop);
        await removeEndpoint(api, out, endpointId);
      }
    });
}

/**
 * The forward URL is printed in the ready line and stored as the endpoint's URL, so it may hold no
 * password; and the forward would fail anyway (fetch refuses a URL with credentials in it).
 */
function assertForwardUrl(text: string) {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CliError(
      `--forward-to must be an http(s) URL, e.g. http://localhost:3000/webhooks (got "${withoutUserinfo(text)}")`,
      'invalid_input',
    );
  }
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    throw new CliError(
      `--forward-to must not hold a user name or password (got "${url.href}"): the local URL can check each delivery's signature instead`,
      'invalid_input',
    );
  }
}

/**
 * Forwards the stream's deliveries until stopped, at most MAX_FORWARDS_IN_FLIGHT at once. Stopping
 * aborts the forwards still waiting for the local URL: their leases lapse and Herald sends them again.
 */
async function relay(api: Api, out: Output, endpointId: string, options: ListenOptions, signal: AbortSignal) {
  const pool = createForwardPool();
  const unreported = createUnreportedAnswers();
  try {
    await followListenStream(api, out, endpointId, signal, (session, delivery) => {
      const running = pool.get(delivery.deliveryId);
      if (running) {
        // Sent again while its first forward runs: that forward reports it, the local URL gets it once.
        // On the same stream its lease ran out meanwhile. On a newer one the stream reconnected: the API
        // gave the old session's leases back and this session holds it now, so the report must name it
        // (under the old one it is refused, and this lease would stall the stream until it ran out).
        if (running.session === session) {
          out.warn(`skipped delivery ${delivery.deliveryId}: it is already being forwarded`);
        }
        running.session = session;
        return undefined;
      }
      // Caught here so that no failure of one delivery can become an unhandled rejection that ends the
      // process before the development endpoint is removed.
      return pool.start(delivery.deliveryId, session, (forward) =>
        handle({ api, out, endpointId, unreported }, forward, delivery, options, signal).catch((error) =>
          out.warn(`${delivery.deliveryId}: ${describeFailure(error).message}`),
        ),
      );
    });
  } finally {
    await pool.settled();
  }
}

/** What every delivery's forward and report use. */
interface Relay {
  api: Api;
  out: Output;
  endpointId: string;
  unreported: UnreportedAnswers;
}

/**
 * Forwards one delivery, prints its line, and reports the local answer as the attempt's outcome. A
 * delivery sent again after its report was refused gets that answer reported, and is not forwarded.
 */
async function handle(
  relay: Relay,
  forward: Forward,
  delivery: RelayedDelivery,
  options: ListenOptions,
  stop: AbortSignal,
) {
  const { out, unreported } = relay;
  const answered = unreported.take(delivery.deliveryId, delivery.attempt);
  if (answered) {
    out.warn(`${delivery.deliveryId}: sent again after its report was refused; reporting the local answer it had`);
    await report(relay, forward, delivery, answered, stop);
    return;
  }
  const result = await forwardDelivery(options.forwardTo, delivery, options.timeout, stop);
  if (result === null) {
    out.warn(`${delivery.deliveryId}: stopped before the local URL answered; Herald sends it again`);
    return;
  }
  printDelivery(out, delivery, result);
  await report(relay, forward, delivery, result, stop);
}

/** Reports tried at most this often when the API answers 429, 502, 503 or 504, or cannot be reached. */
const REPORT_TRIES = 5;
/** The longest wait between two tries of a report (a Retry-After beyond it is cut to it). */
const REPORT_RETRY_MAX_MS = 10_000;

/**
 * Reports the local answer under the session that holds the delivery's lease now. A 409 for a session
 * the stream replaced while the report was on its way (the reconnected stream sent the delivery again)
 * means nothing was recorded: the same answer is reported again under the new session, rather than
 * leaving that lease to run out and the local URL to get the delivery a second time. A 409 before the
 * delivery came back keeps the answer for when it does (`UnreportedAnswers`).
 *
 * A report the API could not take now (429: the key's budget, which a backlog's reports share; 502,
 * 503, 504; no answer) is tried again, after its Retry-After, a few times; one still not taken is
 * kept as a 409's answer is, so the delivery Herald sends again is reported, not forwarded again.
 * Ctrl-C ends the tries, and the request under way: the endpoint is being removed with its deliveries.
 */
async function report(
  relay: Relay,
  forward: Forward,
  delivery: RelayedDelivery,
  result: ForwardResult,
  stop: AbortSignal,
) {
  const { api, out, endpointId } = relay;
  const { deliveryId } = delivery;
  const backoff = createBackoff({ initialMs: 500, maxMs: REPORT_RETRY_MAX_MS });
  for (let tries = 1; !stop.aborted; tries++) {
    const session = forward.session;
    let why: string;
    let waitMs = backoff.next();
    try {
      const answer = await api.fetch(`/v1/endpoints/${endpointId}/listen/attempts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session, deliveryId, ...result }),
        signal: stop,
      });
      await answer.body?.cancel().catch(() => {});
      if (answer.status === 409 && forward.session !== session) continue;
      if (answer.status === 409) {
        relay.unreported.keep(deliveryId, delivery.attempt, result);
        out.warn(
          `${deliveryId}: the lease ended before the report; Herald sends it again, and this answer is reported then`,
        );
        return;
      }
      if (answer.ok) return;
      if (![429, 502, 503, 504].includes(answer.status)) {
        out.warn(`${deliveryId}: the report was refused (HTTP ${answer.status})`);
        return;
      }
      why = `HTTP ${answer.status}`;
      const retryAfter = parseRetryAfter(answer.headers.get('retry-after'));
      if (retryAfter !== null) waitMs = Math.min(REPORT_RETRY_MAX_MS, Math.max(waitMs, retryAfter * 1000));
    } catch (error) {
      if (stop.aborted) return;
      why = (error as Error).message;
    }
    if (tries >= REPORT_TRIES) {
      relay.unreported.keep(deliveryId, delivery.attempt, result);
      out.warn(
        `${deliveryId}: the report was not taken (${why}); Herald sends it again, and this answer is reported then`,
      );
      return;
    }
    await sleep(waitMs, stop);
  }
}

function printDelivery(out: Output, delivery: RelayedDelivery, result: ForwardResult) {
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
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
    (line) =>
      [
        out.colors.dim(line.time.slice(11, 19)),
        line.eventType.padEnd(22),
        line.eventId,
        (ok ? out.colors.green : out.colors.red)(
          (line.statusCode === null ? (line.errorClass ?? 'error') : String(line.statusCode)).padStart(3),
        ),
        `${line.durationMs} ms`,
        line.attempt > 1 ? out.colors.dim(`(attempt ${line.attempt})`) : '',
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
    out.line(
      { type: 'stopped', endpointId, removed: true },
      (line) => `Removed the development endpoint ${line.endpointId}`,
    );
  } catch (error) {
    if (error instanceof CliError && error.code === 'not_found') return;
    throw error;
  }
}
