/** One server-sent event: `event:` (default `message`) and its `data:` lines joined. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/** The most one event may hold before the blank line that ends it (a delivery is at most a few hundred KB). */
export const MAX_EVENT_CHARS = 10 * 1024 * 1024;

/** The stream sent more than MAX_EVENT_CHARS without ending an event: a broken or hostile server. */
export class EventTooLargeError extends Error {
  constructor() {
    super(`an event was larger than ${MAX_EVENT_CHARS / 1024 / 1024} MB`);
    this.name = 'EventTooLargeError';
  }
}

/**
 * Reads server-sent events from a response body (the WHATWG event-stream format: fields per line,
 * events separated by a blank line, `:` comments ignored). Ends when the body ends.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  // A chunk ending in `\r` may be the first half of a CRLF: read alone it would end a line, and the
  // next chunk's `\n` would then end another (a false blank line that splits the event in two).
  let carriedCr = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      let text = carriedCr + value;
      carriedCr = text.endsWith('\r') ? '\r' : '';
      if (carriedCr) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, '\n');
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseBlock(block);
        if (event) yield event;
        end = buffer.indexOf('\n\n');
      }
      if (buffer.length > MAX_EVENT_CHARS) throw new EventTooLargeError();
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function parseBlock(block: string): ServerSentEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? null : { event, data: data.join('\n') };
}
