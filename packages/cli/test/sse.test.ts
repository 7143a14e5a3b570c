import { describe, expect, it } from 'vitest';
import { EventTooLargeError, MAX_EVENT_CHARS, readServerSentEvents } from '../src/sse';
import { startServer } from './harness';

/** A body that arrives as exactly these chunks (the network may cut anywhere). */
function bodyOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function eventsOf(body: ReadableStream<Uint8Array>) {
  const events = [];
  for await (const event of readServerSentEvents(body)) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  const stream = 'event: session\r\ndata: {"session":"s"}\r\n\r\nevent: delivery\r\ndata: a\r\ndata: b\r\n\r\n';
  const expected = [
    { event: 'session', data: '{"session":"s"}' },
    { event: 'delivery', data: 'a\nb' },
  ];

  it('reads CRLF-separated events cut into two chunks at every position', async () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect({ cut, events: await eventsOf(bodyOf([stream.slice(0, cut), stream.slice(cut)])) }).toEqual({
        cut,
        events: expected,
      });
    }
  });

  it('still ends a line at a lone CR, also at the end of a chunk', async () => {
    expect(await eventsOf(bodyOf(['event: delivery\r', 'data: x\r', '\r', 'data: y\n\n']))).toEqual([
      { event: 'delivery', data: 'x' },
      { event: 'message', data: 'y' },
    ]);
  });

  it('reads an HTTP response whose CRLF arrives in two writes', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('event: delivery\r');
      setTimeout(() => response.end('\ndata: x\r\n\r\n'), 50);
    });
    const response = await fetch(server.url);
    expect(await eventsOf(response.body!)).toEqual([{ event: 'delivery', data: 'x' }]);
  });

  it('stops reading a stream that never ends its event', async () => {
    const chunk = 'data: '.padEnd(1024 * 1024, 'x');
    const chunks = Array.from({ length: MAX_EVENT_CHARS / chunk.length + 2 }, () => chunk);
    await expect(eventsOf(bodyOf(chunks))).rejects.toThrow(EventTooLargeError);
  });
});
