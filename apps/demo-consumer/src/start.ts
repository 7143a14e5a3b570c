import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHeraldClient } from '@herald/client';
import { serve } from '@hono/node-server';
import type { ConsumerApp, ConsumerAppOptions } from './app';
import { createConsumerApp } from './app';
import type { ConsumerStore } from './store';
import { openConsumerStore } from './store';

export interface StartConsumerOptions extends Omit<ConsumerAppOptions, 'store' | 'heraldClient' | 'secrets'> {
  /** Default 4000; 0 picks a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  hostname?: string;
  /** Where the Herald API runs, e.g. `http://localhost:3000`. */
  platformUrl: string;
  /** A project API key (`sk_…`). */
  apiKey: string;
  secrets: readonly string[];
  /** PGlite directory; `memory://` for a throw-away store. Default `.data/demo-consumer`. */
  dataDir?: string;
  /** Time limit of each call to the Herald API. Default 10 s. */
  apiTimeoutMs?: number;
}

export interface RunningConsumer {
  url: string;
  port: number;
  store: ConsumerStore;
  consumer: ConsumerApp;
  close(): Promise<void>;
}

/** Opens the store, starts the worker and serves the consumer on a real port. */
export async function startConsumer(options: StartConsumerOptions): Promise<RunningConsumer> {
  const {
    port = 4000,
    hostname = '127.0.0.1',
    platformUrl,
    apiKey,
    dataDir,
    apiTimeoutMs = 10_000,
    ...appOptions
  } = options;
  const store = await openConsumerStore(dataDir);
  const heraldClient = createHeraldClient({
    baseUrl: platformUrl,
    apiKey,
    // A hung platform must not hang the worker: the call fails and is retried.
    timeoutMs: apiTimeoutMs,
  });
  let consumer: ConsumerApp;
  try {
    // The address it listens on is a name the browser may use for it too (HOST=192.168.1.20).
    const allowedHosts = [hostname, ...(appOptions.allowedHosts ?? [])];
    consumer = createConsumerApp({ ...appOptions, allowedHosts, store, heraldClient });
  } catch (error) {
    await store.close();
    throw error;
  }

  const server = serve({ fetch: consumer.app.fetch, port, hostname });
  let address: AddressInfo;
  try {
    address = await new Promise<AddressInfo>((resolve, reject) => {
      server.once('listening', () => resolve(server.address() as AddressInfo));
      server.once('error', reject);
    });
  } catch (error) {
    await consumer.close();
    await store.close();
    throw error;
  }
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    store,
    consumer,
    close: () =>
      (closing ??= (async () => {
        await consumer.close();
        await closeServer(server as Server);
        await store.close();
      })()),
  };
}

/**
 * Stops accepting connections and waits for requests in flight. Keep-alive
 * sockets would hold it open, including those whose SSE stream is just
 * ending, so idle ones are swept until the server is closed; after 5 s the
 * rest are cut.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const cut = setTimeout(() => server.closeAllConnections(), 5000);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
