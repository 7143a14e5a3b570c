import type { AddressInfo, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { answerBudget } from '../../src/http/answer-budget';
import { MAX_INTERIM_RESPONSES } from '../../src/http/exchange';
import { closeAfterEach, startServer } from './helpers';

const base = { userAgent: 'Herald-Webhooks/test', allowPrivateNetworks: true, timeoutMs: 10_000 } as const;

const { track, sender } = closeAfterEach(base);

/** A raw receiver that answers `head`, then writes `filler` for as long as the socket stays open. */
async function endless(head: string, filler: string) {
  let written = 0;
  const chunk = Buffer.from(filler.repeat(Math.ceil(65_536 / filler.length)));
  const server = createNetServer((socket: Socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write(head);
      const more = () => {
        while (!socket.destroyed && socket.write(chunk)) written += chunk.length;
        if (!socket.destroyed) socket.once('drain', more);
      };
      more();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    written: () => written,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('createWebhookSender: bytes an answer may take', () => {
  it.each([
    ['an endless reason phrase', 'HTTP/1.1 200 ', 'a'],
    ['an endless chunk extension', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;', 'a'],
    ['zeros before a chunk size, without end', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n', '0'],
    ['blank lines before the status line, without end', '', '\r\n'],
  ])(
    '%s: the attempt fails as an invalid answer once past the budget, not at the timeout',
    async (_name, head, filler) => {
      const receiver = await endless(head, filler);
      try {
        const result = await sender().send({ url: receiver.url, headers: {}, body: '{}' });
        expect(result).toMatchObject({ ok: false, statusCode: null, errorClass: 'connection' });
        // A chunked answer had its status line first: the message names it.
        expect(result.errorMessage).toMatch(
          /^invalid HTTP response \(too long without completing\)( \(after HTTP 200\))?$/,
        );
      } finally {
        await receiver.close();
      }
    },
  );

  it('the budget leaves room for every interim answer at the header limit and a capped body sent a byte per chunk', async () => {
    const interim = `HTTP/1.1 103 Early Hints\r\nlink: <${'a'.repeat(15_000)}>\r\n\r\n`;
    const body = 'b'.repeat(4096);
    const chunked = [...body].map((c) => `1\r\n${c}\r\n`).join('');
    const answer = `${interim.repeat(MAX_INTERIM_RESPONSES)}HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${chunked}0\r\n\r\n`;
    expect(answer.length).toBeLessThan(answerBudget(4096));
    const server = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await sender().send({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}' });
      expect(result).toMatchObject({ ok: true, statusCode: 200 });
      expect(result.responseBody).toBe(body);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('each answer on a kept-alive socket has its own budget', async () => {
    const answer = 'c'.repeat(3000);
    const server = await track(startServer((_req, res) => res.writeHead(200).end(answer)));
    const send = sender();
    const count = Math.ceil((2 * answerBudget(4096)) / answer.length);
    for (let i = 0; i < count; i++) {
      const result = await send.send({ url: server.url, headers: {}, body: '{}' });
      expect(result.ok, `request ${i}`).toBe(true);
    }
    expect(server.connections).toBe(1);
  });
});
