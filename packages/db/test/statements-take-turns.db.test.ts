import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { expect, it, onTestFinished } from 'vitest';
import { executeRows } from '../src';
import { describeDb } from '../src/testing';

/*
 * A process that runs its database in-process (PGlite) must still read its sockets while
 * statements queue up: a dispatcher's claims and outcome writes kept PGlite busy back to back,
 * and the receivers' answers waited behind all of them (packages/db/src/pglite-turns.ts).
 * On PostgreSQL statements are I/O anyway; the same behaviour is asserted on both drivers.
 */
describeDb('statements take turns with the rest of the process', (t) => {
  it('an HTTP exchange started while 100 statements are queued ends before the last of them', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;

    const statements = 100;
    let finished = 0;
    // Each a few milliseconds of work on PGlite, all issued at once.
    const queued = Array.from({ length: statements }, () =>
      executeRows(t.db, sql`select count(*) from generate_series(1, 20000)`).then(() => {
        finished += 1;
      }),
    );
    const finishedWhenAnswered = await new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(finished));
      }).on('error', reject);
    });
    await Promise.all(queued);

    expect(finished).toBe(statements);
    // Without turns, PGlite ran all 100 before the answer was read (100 here).
    expect(finishedWhenAnswered).toBeLessThan(statements / 2);
  });
});
