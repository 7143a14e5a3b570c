import type { IncomingMessage } from 'node:http';
import { rejection, type WebhookRejection } from './rejection';

export type RawBodyResult = { ok: true; body: Uint8Array } | { ok: false; rejection: WebhookRejection };

/**
 * Reads a Web `ReadableStream` body as the exact bytes sent, stopping once it exceeds `limit`
 * (a declared `content-length` over the limit is refused before anything is read).
 * Past the limit the stream is released, not cancelled: cancelling can tear down the
 * connection on Node servers before the 413 is written.
 */
export async function readWebBody(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null,
  limit: number,
): Promise<RawBodyResult> {
  if (declaredTooLarge(contentLength, limit)) return tooLarge(limit);
  if (body === null) return { ok: true, body: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.releaseLock();
      return tooLarge(limit);
    }
    chunks.push(value);
  }
  return { ok: true, body: Buffer.concat(chunks, size) };
}

/**
 * The same for Node's IncomingMessage (Express, plain node:http). Past the limit the rest is
 * drained and discarded rather than the stream destroyed, which would close the socket before
 * the 413 is written.
 */
export function readNodeBody(request: IncomingMessage, limit: number): Promise<RawBodyResult> {
  if (declaredTooLarge(request.headers['content-length'], limit)) return Promise.resolve(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      size += bytes.byteLength;
      if (size > limit) {
        cleanup();
        request.resume();
        resolve(tooLarge(limit));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = () => {
      cleanup();
      resolve({ ok: true, body: Buffer.concat(chunks, size) });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

function declaredTooLarge(contentLength: string | null | undefined, limit: number): boolean {
  return contentLength !== null && contentLength !== undefined && Number(contentLength) > limit;
}

/** A body some middleware already read (a Buffer or text), held to the same limit. */
export function bodyWithinLimit(body: Uint8Array, limit: number): RawBodyResult {
  return body.byteLength > limit ? tooLarge(limit) : { ok: true, body };
}

function tooLarge(limit: number): RawBodyResult {
  return { ok: false, rejection: rejection('payload_too_large', `The body is larger than ${limit} bytes`) };
}
