import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EnvError } from '../src/env';
import { serializeError } from '../src/logger';
import { startOrExit } from '../src/process-lifecycle';

/** A logger whose lines are kept, as the processes' logger writes them (its error serializer). */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ serializers: { err: serializeError } }, stream), lines };
}

describe('startOrExit', () => {
  it('a failure that is not a setting is one fatal line saying what failed, without a stack, then exit 1', async () => {
    const { logger, lines } = capturedLogger();
    const exits: number[] = [];
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' });
    void startOrExit(
      logger,
      async () => {
        throw new Error('database could not be opened', { cause: refused });
      },
      (code) => exits.push(code),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(exits).toEqual([1]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 60,
      msg: 'start-up failed: database could not be opened',
      error: { type: 'Error', cause: { message: 'connect ECONNREFUSED 127.0.0.1:5999', code: 'ECONNREFUSED' } },
    });
    expect(JSON.stringify(lines[0])).not.toContain('    at ');
  });

  it('a setting that is wrong is named', async () => {
    const { logger, lines } = capturedLogger();
    const exits: number[] = [];
    void startOrExit(
      logger,
      async () => {
        throw new EnvError('PORT', '3000 is taken on 0.0.0.0 (EADDRINUSE)');
      },
      (code) => exits.push(code),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(exits).toEqual([1]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 60, variable: 'PORT', msg: 'PORT: 3000 is taken on 0.0.0.0 (EADDRINUSE)' }),
    ]);
  });
});
