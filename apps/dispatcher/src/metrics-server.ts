import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '@herald/db';
import { databaseReady } from '@herald/db';
import type { DispatcherMetrics } from '@herald/delivery';

/**
 * The standalone dispatcher's operator port: `/metrics` in Prometheus text format, `/healthz` (the
 * process answers) and `/readyz` (its database answers `select 1` within 2 s; 503 otherwise), as
 * the API serves them. Keep the port private: `/metrics` names projects and endpoints.
 */
export function startMetricsServer(
  db: Database,
  metrics: DispatcherMetrics,
  options: { port: number; hostname?: string },
) {
  const hostname = options.hostname ?? '0.0.0.0';
  const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body), type: 'application/json' });
  const answer = async (url: string | undefined) => {
    switch (url) {
      case '/metrics':
        return metrics.render(db).then(
          (text) => ({ status: 200, body: text, type: 'text/plain; version=0.0.4' }),
          () => ({ status: 503, body: 'database unavailable\n', type: 'text/plain' }),
        );
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/readyz':
        return (await databaseReady(db))
          ? json(200, { status: 'ready' })
          : json(503, { status: 'unavailable', reason: 'database unreachable' });
      default:
        return { status: 404, body: '', type: 'text/plain' };
    }
  };
  const server = createServer((req, res) => {
    void answer(req.url).then(({ status, body, type }) => res.writeHead(status, { 'content-type': type }).end(body));
  });
  return new Promise<{ url: string; listening: string; close(): Promise<void> }>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, hostname, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      // The address it listens on; 0.0.0.0 (every interface) is reached at 127.0.0.1 from this host.
      const host = hostname === '0.0.0.0' ? '127.0.0.1' : hostname.includes(':') ? `[${hostname}]` : hostname;
      resolve({
        url: `http://${host}:${port}`,
        // Where it listens, as the operator must know it: 0.0.0.0 is every interface, not this host alone.
        listening: `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
