import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// patches/postgres@3.4.9.patch: every build of postgres.js Node may load carries it.
describe('the postgres.js patch', () => {
  it('is applied to the ESM, CommonJS and Cloudflare builds', () => {
    // `postgres` resolves to cjs/src/index.js under require; the package root is two levels up.
    const root = path.resolve(path.dirname(createRequire(import.meta.url).resolve('postgres')), '../..');
    for (const build of ['src', 'cjs/src', 'cf/src']) {
      const source = readFileSync(path.join(root, build, 'connection.js'), 'utf8');
      expect({ build, patched: source.split('Herald patch').length - 1 }).toEqual({ build, patched: 4 });
    }
  });
});
