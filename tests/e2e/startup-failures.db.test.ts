import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeDb } from '@herald/db/testing';
import { expect, it, onTestFinished } from 'vitest';
import { spawnApi, spawnDispatcher } from './harness';

/** A port something else listens on (closed when the test ends). */
async function takenPort(): Promise<number> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
  onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as { port: number }).port;
}

/** Every line a process wrote, which must all be JSON (no stack trace printed around them). */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describeDb('start-up failures', (t) => {
  it('an API whose port is taken logs one fatal line naming PORT and exits 1, giving back its dispatcher', async () => {
    const port = await takenPort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-port-taken-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    // On PGlite the dispatcher runs in the API's process: it must be stopped too, or the process stays.
    const database: Record<string, string> =
      t.driver === 'postgres' ? { DATABASE_URL: t.url! } : { HERALD_DATA_DIR: dataDir };
    // With its dispatcher, and (PostgreSQL) without: closing before the revocation LISTEN was up warned, with a stack.
    for (const dispatcher of t.driver === 'postgres' ? ['on', 'off'] : ['on']) {
      // A secret key set: without one the API warns (rightly) that idempotency is per process.
      const proc = spawnApi({
        ...database,
        PORT: String(port),
        HOST: '0.0.0.0',
        HERALD_DISPATCHER: dispatcher,
        HERALD_SECRET_KEY: 'k'.repeat(40),
      });
      const exited = await proc.exited;
      expect(exited.code).toBe(1);
      const warnings = jsonLines(proc.output()).filter((line) => Number(line.level) >= 40);
      expect(warnings, `dispatcher ${dispatcher}`).toEqual([
        expect.objectContaining({ level: 60, variable: 'PORT', msg: `PORT: ${port} is taken on 0.0.0.0 (EADDRINUSE)` }),
      ]);
    }
  });

  it('a standalone dispatcher whose METRICS_PORT is taken stops before claiming anything', async (ctx) => {
    if (t.driver !== 'postgres')
      return ctx.skip('needs PostgreSQL: a dispatcher process cannot open the test’s PGlite');
    const port = await takenPort();
    const proc = spawnDispatcher({ DATABASE_URL: t.url!, METRICS_PORT: String(port) });
    const exited = await proc.exited;
    expect(exited.code).toBe(1);
    const lines = jsonLines(proc.output());
    expect(lines.filter((line) => line.level === 60)).toEqual([
      expect.objectContaining({ variable: 'METRICS_PORT', msg: expect.stringContaining('(EADDRINUSE)') }),
    ]);
    expect(proc.output()).not.toContain('Herald dispatcher running');
  });

  it('a standalone dispatcher says where its operator port listens: every interface, not only this host', async (ctx) => {
    if (t.driver !== 'postgres')
      return ctx.skip('needs PostgreSQL: a dispatcher process cannot open the test’s PGlite');
    const proc = spawnDispatcher({ DATABASE_URL: t.url! });
    await proc.ready;
    const running = jsonLines(proc.output()).find((line) => line.msg === 'Herald dispatcher running');
    expect(running).toMatchObject({ listening: expect.stringMatching(/^0\.0\.0\.0:\d+$/) });
    proc.terminate();
    expect((await proc.exited).code).toBe(0);
  });
});
