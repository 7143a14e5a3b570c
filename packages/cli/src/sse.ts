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
  const parser = new EventStreamParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield* parser.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The event-stream parser, fed text as it arrives. It works line by line, as the spec describes, and
 * looks at each character once: the unfinished line and event are kept as pieces, never re-searched.
 * (Appending each chunk to one buffer and searching all of it for the blank line again cost quadratic
 * time: 63 s of CPU for a 4 MB event sent in 256-byte pieces.)
 */
export class EventStreamParser {
  /** How many characters the line search has examined: the input's length, however it was cut. */
  charsScanned = 0;
  /** The line not yet ended, in the pieces it arrived in. */
  private lineParts: string[] = [];
  private lineChars = 0;
  private eventType = 'message';
  private dataLines: string[] = [];
  /** Characters of the event not yet ended, in its whole lines (the unfinished line is in lineChars). */
  private eventChars = 0;
  /**
   * The last text ended in `\r`: a line end, but maybe the first half of a CRLF whose `\n` starts the
   * next text. Read as a second line end, that `\n` would make a false blank line that splits the event.
   */
  private lineEndedWithCr = false;

  /** The events `text` completes; throws EventTooLargeError when the unfinished one passes MAX_EVENT_CHARS. */
  push(text: string): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    let lineStart = this.lineEndedWithCr && text.startsWith('\n') ? 1 : 0;
    if (text.length > 0) this.lineEndedWithCr = false;
    this.charsScanned += lineStart;
    const lineEnd = /\r\n?|\n/g;
    lineEnd.lastIndex = lineStart;
    for (let match = lineEnd.exec(text); match; match = lineEnd.exec(text)) {
      this.charsScanned += lineEnd.lastIndex - lineStart;
      this.lineParts.push(text.slice(lineStart, match.index));
      const line = this.lineParts.join('');
      this.lineParts = [];
      this.lineChars = 0;
      if (match[0] === '\r' && lineEnd.lastIndex === text.length) this.lineEndedWithCr = true;
      lineStart = lineEnd.lastIndex;
      const event = this.takeLine(line);
      if (event) events.push(event);
    }
    if (lineStart < text.length) {
      this.charsScanned += text.length - lineStart;
      this.lineParts.push(text.slice(lineStart));
      this.lineChars += text.length - lineStart;
    }
    if (this.eventChars + this.lineChars > MAX_EVENT_CHARS) throw new EventTooLargeError();
    return events;
  }

  /** Applies one whole line; a blank line ends the event, returned if it had data. */
  private takeLine(line: string): ServerSentEvent | null {
    if (line === '') {
      const event = this.dataLines.length === 0 ? null : { event: this.eventType, data: this.dataLines.join('\n') };
      this.eventType = 'message';
      this.dataLines = [];
      this.eventChars = 0;
      return event;
    }
    this.eventChars += line.length + 1;
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.dataLines.push(value);
    return null;
  }
}
