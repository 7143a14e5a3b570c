import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { initTRPC } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

/*
 * patches/@trpc__server@11.25.2.patch: tRPC's compiled object spread replaced by native spread
 * (patches/README.md). An upgrade that drops the patch fails here, so its cost is measured again.
 */
describe('@trpc/server as patched', () => {
  it('its object-spread helper is native spread, in both builds', () => {
    const dist = dirname(createRequire(import.meta.url).resolve('@trpc/server'));
    const helpers = readdirSync(dist)
      .filter((file) => /\.(mjs|cjs)$/.test(file))
      .map((file) => readFileSync(join(dist, file), 'utf8'))
      .filter((text) => text.includes('function _objectSpread2('));
    expect(helpers).toHaveLength(2);
    for (const text of helpers) expect(text).toContain('e = { ...e, ...t }');
  });

  it('contexts still merge through middlewares, and inputs through chained validators', async () => {
    const t = initTRPC.context<{ a: number; keep: string }>().create();
    const procedure = t.procedure
      .use(({ ctx, next }) => next({ ctx: { b: ctx.a + 1 } }))
      .use(({ ctx, next }) => next({ ctx: { c: ctx.b + 1, a: 10 } }))
      .input(z.looseObject({ x: z.number() }))
      .input(z.looseObject({ y: z.number() }))
      .query(({ ctx, input }) => ({ ctx, input }));
    const caller = t.createCallerFactory(t.router({ procedure }))({ a: 1, keep: 'k' });
    const result = await caller.procedure({ x: 1, y: 2 });
    expect(result.ctx).toEqual({ a: 10, keep: 'k', b: 2, c: 3 });
    expect(result.input).toEqual({ x: 1, y: 2 });
  });
});
