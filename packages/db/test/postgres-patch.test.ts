import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// patches/postgres@3.4.9.patch: every build of postgres.js Node may load carries it.
// `postgres` resolves to cjs/src/index.js under require; the package root is two levels up.
const root = path.resolve(path.dirname(createRequire(import.meta.url).resolve('postgres')), '../..');
const builds = ['src', 'cjs/src', 'cf/src'];
const markers = (file: string) => readFileSync(path.join(root, file), 'utf8').split('Herald patch').length - 1;

interface Queue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}

describe('the postgres.js patch', () => {
  it('is applied to the ESM, CommonJS and Cloudflare builds', () => {
    for (const build of builds) {
      expect({ build, connection: markers(`${build}/connection.js`), queue: markers(`${build}/queue.js`) }).toEqual({
        build,
        connection: 4,
        queue: 2,
      });
    }
  });

  it("keeps the pool's queues in order when they never run empty, as a busy pool's do", async () => {
    const { default: Queue } = (await import(pathToFileURL(path.join(root, 'src/queue.js')).href)) as {
      default: <T>(initial?: T[]) => Queue<T>;
    };
    // The pool hands a query to the busy connection at the head and puts it back at the tail, so
    // the queue turns over without emptying; a connection going idle is removed from the middle.
    const busy = Queue<string>(['a', 'b', 'c', 'd']);
    for (let i = 0; i < 10_000; i++) busy.push(busy.shift()!);
    expect(busy.length).toBe(4);
    expect(busy.remove('c')).toBe('c');
    expect(busy.remove('c')).toBeNull();
    expect(busy.length).toBe(3);
    expect([busy.shift(), busy.shift(), busy.shift()]).toEqual(['a', 'b', 'd']);
    expect(busy.length).toBe(0);
    // Emptied by remove, then used again.
    busy.push('e');
    expect(busy.remove('e')).toBe('e');
    expect(busy.length).toBe(0);
    busy.push('f');
    busy.push('g');
    expect([busy.length, busy.shift(), busy.shift(), busy.length]).toEqual([2, 'f', 'g', 0]);
  });
});
