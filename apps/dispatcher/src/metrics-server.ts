import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '@herald/db';
import type { DispatcherMetrics } from '@herald/delivery';

/** `/metrics` in Prometheus text format, on its own port. */
export function startMetricsServer(
  db: Database,
  metrics: DispatcherMetrics,
  options: { port: number; hostname?: string },
) {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.render(db).then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
      () => res.writeHead(503).end('database unavailable\n'),
    );
  });
  return new Promise<{ url: string; close(): Promise<void> }>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.hostname ?? '0.0.0.0', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
