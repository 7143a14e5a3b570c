// The developer's local webhook receiver in cli-listen.db.test.ts, as its own process: prints
// `{"port":…}` once listening, then one JSON line per request (headers and raw body). It answers
// 500 to the first request it ever gets (the test's failed attempt) and 200 to every other.
import { createServer } from 'node:http';

let requests = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    requests += 1;
    const status = requests === 1 ? 500 : 200;
    const body = Buffer.concat(chunks).toString('utf8');
    process.stdout.write(
      `${JSON.stringify({ request: requests, status, url: req.url, headers: req.headers, body })}\n`,
    );
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 500 ? 'local failure' : 'ok');
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
