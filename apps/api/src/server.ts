import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Hono } from 'hono';
import type { HeraldEnv } from './middleware/request-context';

export interface RunningServer {
  url: string;
  port: number;
  /**
   * Stops accepting connections and resolves once the requests under way have been answered.
   * `forceAfterMs`: then closes every connection still open (a client that never finishes sending
   * its body would otherwise hold the server for Node's request timeout, 300 s).
   */
  close(options?: { forceAfterMs?: number }): Promise<void>;
}

/** Serves a Hono app on a real socket (port 0 picks a free one). */
/** How long a client may take to send its request's headers, and the whole request (Node: 60 s and 300 s). */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** Connections held open at once, by default (`HERALD_MAX_CONNECTIONS`). */
export const DEFAULT_MAX_CONNECTIONS = 4_096;

export interface ListenOptions {
  port?: number;
  hostname?: string;
  /**
   * Connections open at once; more are closed as they come. Bounds what clients that send their
   * requests a byte every few seconds can take: 19,990 such connections took every file
   * descriptor of the process, and with them every tenant's requests and the dispatcher's sockets.
   */
  maxConnections?: number;
  /** Overrides of `HEADERS_TIMEOUT_MS` and `REQUEST_TIMEOUT_MS` (tests). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function listen(app: { fetch: Hono<HeraldEnv>['fetch'] }, options: ListenOptions = {}): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const hostname = options.hostname ?? '127.0.0.1';
    // As @hono/node-server's `serve`, with an error handler: a request it cannot turn into a URL
    // (a Host header like `[::1`) got a 400 with an empty body, not Herald's JSON error.
    const handle = getRequestListener(app.fetch, { hostname, errorHandler: answerUnservable });
    // Once closing, every request's answer carries `Connection: close`: a client sending request
    // after request on a kept-alive connection would otherwise hold the server open. (One flag
    // read per request, nothing kept: a request under way at the close ends its connection at
    // the next one.)
    let closing = false;
    // Node answers an HTTP/1.1 request without a Host header itself (400, no body): Herald's JSON
    // error instead (RFC 9112 §3.2: such a request must be refused).
    const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const server = createServer(
      {
        requireHostHeader: false,
        // A request that is still arriving after this long is answered 408 and its connection
        // closed (bodies are small: 256 KB by default). Long answers (`herald listen` streams)
        // are not bounded by it: it covers receiving the request only.
        headersTimeout: Math.min(options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout),
        requestTimeout,
        // How often Node checks those timeouts (default 30 s, which let a request run on that much longer).
        connectionsCheckingInterval: Math.min(5_000, requestTimeout),
      },
      (request, response) => {
        if (closing) response.shouldKeepAlive = false;
        if (request.headers.host === undefined && request.httpVersionMajor === 1 && request.httpVersionMinor >= 1) {
          return answerWithoutHost(response);
        }
        return handle(request, response);
      },
    );
    server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('clientError', answerUnparsable);
    // A port that is taken, an address not of this host: the caller's error (`pnpm start` logs one
    // fatal line and exits), not an unhandled 'error' event's stack trace.
    server.once('error', reject);
    server.listen(options.port ?? 0, hostname, () => {
      server.off('error', reject);
      const info = server.address() as AddressInfo;
      const host = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: ({ forceAfterMs } = {}) =>
          new Promise<void>((done) => {
            closing = true;
            const force =
              forceAfterMs === undefined ? undefined : setTimeout(() => server.closeAllConnections(), forceAfterMs);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            // Idle keep-alive sockets would hold close() open.
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** The answer to a request the app never saw: malformed (400), or the app threw past its own handler (500). */
function answerUnservable(error: unknown): Response {
  return error instanceof RequestError
    ? Response.json(
        { error: { code: 'validation_error', message: 'The request target or its Host header is malformed' } },
        { status: 400 },
      )
    : Response.json({ error: { code: 'internal_error', message: 'Internal server error' } }, { status: 500 });
}

/** An HTTP/1.1 request with no Host header: 400, and the connection closed (its body is left unread). */
function answerWithoutHost(response: ServerResponse): void {
  const body = JSON.stringify({
    error: { code: 'validation_error', message: 'An HTTP/1.1 request must have a Host header' },
  });
  response.shouldKeepAlive = false;
  response.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/**
 * A request Node's HTTP parser refused (a request line or headers over 16 KB, a NUL or a raw
 * 0xFF in the target, a malformed Content-Length or chunk): Node's own answer has no body.
 * Herald's JSON error instead, and the connection closed (the stream cannot be trusted after).
 */
function answerUnparsable(error: Error & { code?: string }, socket: Socket): void {
  // A body that breaks off after valid headers: the app may have answered already.
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const tooSlow = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'validation_error', message: 'The request line and headers are limited to 16 KB' }
      : tooSlow
        ? { code: 'request_timeout', message: 'The request did not arrive in time' }
        : { code: 'validation_error', message: 'The request is not valid HTTP/1.1' },
  });
  const status = tooLarge ? '431 Request Header Fields Too Large' : tooSlow ? '408 Request Timeout' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
