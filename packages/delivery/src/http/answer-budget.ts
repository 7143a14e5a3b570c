import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { MAX_INTERIM_RESPONSES } from './exchange';

export const ANSWER_TOO_LARGE_CODE = 'HERALD_ANSWER_TOO_LARGE';

/** undici's limit on a response's header section (`maxHeaderSize`, Node's default). */
const HEADER_SECTION_BYTES = 16 * 1024;

/** Room for chunked framing around a capped body (a 4 KB body sent one byte per chunk takes ~24 KB). */
const FRAMING_BYTES = 64 * 1024;

export class AnswerTooLarge extends Error {
  readonly code = ANSWER_TOO_LARGE_CODE;
  constructor(budget: number) {
    super(`the answer went past ${budget} bytes without completing`);
    this.name = 'AnswerTooLarge';
  }
}

/** The most bytes one answer may take off its socket: interim answers, the final head, a capped body. */
export function answerBudget(bodyCap: number): number {
  return (MAX_INTERIM_RESPONSES + 1) * HEADER_SECTION_BYTES + bodyCap + FRAMING_BYTES;
}

/**
 * undici's connector, whose sockets give at most `budget` bytes to each answer. The body's cap and
 * the header limit count only what undici hands on; a receiver could otherwise keep the parser busy
 * for the whole timeout with bytes that are neither (an endless reason phrase or chunk extension,
 * zeros before a chunk size, blank lines before the status line): 1.1–1.5 GB and 3.4–3.7 s of CPU
 * in one 5 s attempt, which delayed every other tenant's webhooks. Past the budget the socket is
 * destroyed and the attempt fails as an invalid answer.
 *
 * One request is in flight on a socket at a time (undici's default pipelining of 1), so a write on
 * it starts a new answer's count. What undici reads is counted where it reads (`socket.read()` in
 * its 'readable' handler), without a listener that would change how the socket flows.
 */
export function budgetedConnector(options: buildConnector.BuildOptions, budget: number): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) =>
    connect(opts, (error, socket) => {
      if (error || !socket) {
        callback(error ?? new Error('no socket'), null);
        return;
      }
      limitAnswers(socket, budget);
      callback(null, socket);
    });
}

function limitAnswers(socket: Socket, budget: number): void {
  let received = 0;
  const write = socket.write;
  socket.write = function (this: Socket, ...args: unknown[]) {
    received = 0;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
  const read = socket.read;
  socket.read = function (this: Socket, size?: number) {
    const chunk: unknown = read.call(this, size);
    if (chunk === null) return chunk;
    received += (chunk as { length: number }).length;
    if (received <= budget) return chunk;
    this.destroy(new AnswerTooLarge(budget));
    return null;
  } as Socket['read'];
}
