import { describe, expect, it } from 'vitest';
import { EventStreamParser, EventTooLargeError, MAX_EVENT_CHARS, readServerSentEvents } from '../src/sse';
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

  it('reads the same events however the stream is cut, with LF, CRLF and lone CR line ends mixed', async () => {
    const mixed =
      ': hello\r\nevent: session\rdata: {"session":"s"}\n\r\n\n' +
      'event: delivery\r\ndata: a\rdata:b\ndata\r\n\r' +
      'event: ignored\n\ndata:  two spaces\r\n\r\n';
    const mixedExpected = [
      { event: 'session', data: '{"session":"s"}' },
      { event: 'delivery', data: 'a\nb\n' },
      { event: 'message', data: ' two spaces' },
    ];
    expect(await eventsOf(bodyOf(mixed.split('')))).toEqual(mixedExpected);
    // A fixed seed: the same cuts every run, so a failure can be replayed.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 300; round++) {
      const chunks: string[] = [];
      for (let at = 0; at < mixed.length; ) {
        const size = 1 + Math.floor(random() * 8);
        chunks.push(mixed.slice(at, at + size));
        at += size;
      }
      expect({ chunks, events: await eventsOf(bodyOf(chunks)) }).toEqual({ chunks, events: mixedExpected });
    }
  });

  it('looks at each character once, however small the pieces an unfinished event arrives in', () => {
    // 4 MB in 256-character pieces: searching the whole unfinished event again for each piece (as the
    // parser once did) examines about 32 GB of text, and took a minute of CPU.
    const longLine = `data: ${'x'.repeat(4 * 1024 * 1024)}\n\n`;
    const manyLines = `${'data: x\n'.repeat(512 * 1024)}\n`;
    for (const stream of [longLine, manyLines]) {
      const parser = new EventStreamParser();
      const events = [];
      for (let at = 0; at < stream.length; at += 256) events.push(...parser.push(stream.slice(at, at + 256)));
      expect(parser.charsScanned).toBe(stream.length);
      expect(events).toHaveLength(1);
      expect(events[0]?.data.length).toBe(stream === longLine ? 4 * 1024 * 1024 : 2 * 512 * 1024 - 1);
    }
  });

  it('stops reading a stream that never ends its event', async () => {
    const chunk = 'data: '.padEnd(1024 * 1024, 'x');
    const chunks = Array.from({ length: MAX_EVENT_CHARS / chunk.length + 2 }, () => chunk);
    await expect(eventsOf(bodyOf(chunks))).rejects.toThrow(EventTooLargeError);
  });

  it('stops reading an event of many short lines that never ends', async () => {
    const chunk = 'data: x\n'.repeat(8 * 1024);
    const chunks = Array.from({ length: MAX_EVENT_CHARS / chunk.length + 2 }, () => chunk);
    await expect(eventsOf(bodyOf(chunks))).rejects.toThrow(EventTooLargeError);
  });
});
