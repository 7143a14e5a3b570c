import type { AddressInfo } from 'node:net';

interface ListeningServer {
  address(): AddressInfo | string | null;
  close(callback?: (error?: Error) => void): unknown;
  once(event: 'listening', listener: () => void): unknown;
  listening?: boolean;
  closeAllConnections?(): void;
}

/** Starts a Node server on a free port of 127.0.0.1 and gives its base URL and an awaitable close. */
export async function listen(
  create: (port: number) => ListeningServer,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = create(0);
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections?.();
      }),
  };
}
