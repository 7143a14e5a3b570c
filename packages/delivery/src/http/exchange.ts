import { TextDecoder } from 'node:util';
import type { Dispatcher } from 'undici';

/**
 * One request's answer as undici's dispatch handler sees it: status, `Retry-After` and the first
 * `cap` bytes of the body. Driving `Agent.dispatch` with this handler instead of `Agent.request`
 * skips what the sender never needed per request: an `AsyncResource`, a Node `Readable` for the
 * body read through an async iterator, and an `AbortSignal` with its listener.
 */
export type Answer = {
  statusCode: number;
  retryAfter: string | string[] | undefined;
  /** The body's first `cap` bytes decoded as UTF-8 (U+FFFD for invalid bytes): a longer body is cut and its socket closed. */
  body: string;
  /** The body reached the cap: its end may be the start of something longer. */
  cut: boolean;
};

/** Why an exchange was abandoned by the sender itself (timeout, cap), never a peer's doing. */
class Abandoned extends Error {}

/**
 * Interim (1xx) answers one request may get before its final one. A real server sends one or two
 * (`100 Continue`, `103 Early Hints`, a `102 Processing` now and then); undici restarts its header
 * timer at each, so a receiver streaming them would keep the parser busy until the deadline
 * (359 MB and 8 s of CPU in one 15 s attempt), past the body's cap.
 */
export const MAX_INTERIM_RESPONSES = 10;

/** The receiver sent more than MAX_INTERIM_RESPONSES interim answers. */
export class TooManyInterimResponses extends Error {
  readonly code = 'HERALD_TOO_MANY_INTERIM_RESPONSES';
  constructor() {
    super(`more than ${MAX_INTERIM_RESPONSES} interim (1xx) responses`);
    this.name = 'TooManyInterimResponses';
  }
}

/**
 * The request was not begun by its `startBy` (`performance.now()` time), or its process stalled past
 * its own deadline before a byte of it was written: nothing of it was written. Its sender's lease
 * may have run out meanwhile, and another dispatcher may be sending it: sending it now could put a
 * FIFO subject's earlier delivery behind a later one.
 */
export class NotSentInTime extends Error {
  constructor() {
    super('the request did not start before its deadline; not sent');
    this.name = 'NotSentInTime';
  }
}

/**
 * Sends one request through `agent` and settles with its answer, or rejects with undici's error
 * (connect, parse, socket). After `timeoutMs` the promise rejects with `timedOut()` true, even
 * while the request still waits for a socket (it is aborted as soon as it starts).
 *
 * `startBy` bounds when the exchange begins, not when its socket is ready: one begun later is not
 * sent (`NotSentInTime`). Begun in time, it ends within `timeoutMs` of that (the one deadline
 * covers the lookup, connect, TLS handshake, headers and body), so it ends inside a lease that
 * outlasts `startBy` by `timeoutMs`. Checked when its socket was ready instead, a receiver whose
 * TLS handshake took longer than the time left to `startBy` (20 s of a 30 s timeout) had its
 * delivery claimed, never sent, never logged and claimed again at every lease, for ever. A socket
 * ready after the exchange's own deadline (the process stalled, so the timer could not fire) is not
 * written either.
 */
export function exchange(
  agent: Dispatcher,
  options: Dispatcher.DispatchOptions,
  cap: number,
  timeoutMs: number,
  startBy = Number.POSITIVE_INFINITY,
): { answer: Promise<Answer>; timedOut: () => boolean; statusCode: () => number | null } {
  let timedOut = false;
  let statusCode: number | null = null;
  let retryAfter: string | string[] | undefined;
  let controller: Dispatcher.DispatchController | null = null;
  let decoder: TextDecoder | null = null;
  let text = '';
  let taken = 0;
  let interim = 0;
  let cut = false;
  let settled = false;
  let resolveAnswer!: (answer: Answer) => void;
  let rejectAnswer!: (error: unknown) => void;
  const answer = new Promise<Answer>((resolve, reject) => {
    resolveAnswer = resolve;
    rejectAnswer = reject;
  });
  const finish = () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    // A body that ended on an incomplete sequence gets its U+FFFD; at the cap the cut sequence is
    // dropped instead (no final flush).
    if (decoder && !cut) text += decoder.decode();
    const done: Answer = { statusCode: statusCode ?? 0, retryAfter, body: text, cut };
    // undici hands the socket back to its pool in a setImmediate it queues after this callback
    // returns: settling in one queued after it lets a caller's next sequential send (FIFO per
    // endpoint) reuse the socket instead of dialing.
    process.nextTick(() => setImmediate(resolveAnswer, done));
  };
  const fail = (error: unknown) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    rejectAnswer(error);
  };
  // One deadline for connect + headers + body; undici's own timeouts are per phase.
  const endsBy = performance.now() + timeoutMs;
  const timer = setTimeout(() => {
    timedOut = true;
    fail(new Abandoned('timed out'));
    controller?.abort(new Abandoned('timed out'));
  }, timeoutMs);

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(started) {
      controller = started;
      if (timedOut) started.abort(new Abandoned('timed out'));
      else if (performance.now() > endsBy) {
        // Called with its socket, before anything is written: past the deadline its timer did not
        // get to mark (a stalled process), the lease may be gone.
        const late = new NotSentInTime();
        fail(late);
        started.abort(late);
      }
    },
    onResponseStart(active, status, headers) {
      if (status < 200) {
        // 1xx informational: the real answer follows, unless the receiver only ever sends these.
        interim += 1;
        if (interim > MAX_INTERIM_RESPONSES) {
          const tooMany = new TooManyInterimResponses();
          fail(tooMany);
          active.pause();
          active.abort(tooMany);
        }
        return;
      }
      statusCode = status;
      retryAfter = headers['retry-after'];
    },
    onResponseData(active, chunk) {
      if (settled || cut) return;
      const room = cap - taken;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      taken += piece.length;
      // The WHATWG decoder turns every invalid sequence into U+FFFD; a BOM is kept as sent.
      decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
      text += decoder.decode(piece, { stream: true });
      if (taken >= cap) {
        // Losing the socket is cheaper than draining an unbounded body; small bodies end first.
        cut = true;
        finish();
        // Paused first, so undici's parser stops at this chunk: otherwise, with the whole response
        // in one read and keep-alive off, it would go on to complete the request just aborted
        // (undici's own handlers abort and stop the parser the same way).
        active.pause();
        active.abort(new Abandoned('response body over the cap'));
      }
    },
    onResponseEnd() {
      finish();
    },
    onResponseError(_controller, error) {
      fail(error);
    },
  };
  if (performance.now() > startBy) {
    fail(new NotSentInTime());
    return { answer, timedOut: () => timedOut, statusCode: () => statusCode };
  }
  try {
    agent.dispatch(options, handler);
  } catch (error) {
    fail(error);
  }
  return { answer, timedOut: () => timedOut, statusCode: () => statusCode };
}
