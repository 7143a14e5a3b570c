import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { executeHotTemplate } from '../src';
import { describeDb } from '../src/testing';

describeDb('executeHotTemplate', (t) => {
  it('builds the text once per key on PostgreSQL and fills in each call’s values; PGlite builds each call', async () => {
    let builds = 0;
    const key = `test.template.${Math.random()}`;
    const run = (values: Record<string, unknown>) =>
      executeHotTemplate<{ n: number; label: string | null; doubled: number }>(
        t.db,
        key,
        (value) => {
          builds += 1;
          return sql`select ${value('n')}::int as n, ${value('label')}::text as label, ${value('n')}::int * 2 as doubled`;
        },
        values,
      );
    const answers = [
      await run({ n: 1, label: 'one' }),
      await run({ n: 2, label: null }),
      await run({ n: 3, label: "it's" }),
    ];
    expect(answers.map((rows) => rows[0])).toEqual([
      { n: 1, label: 'one', doubled: 2 },
      { n: 2, label: null, doubled: 4 },
      { n: 3, label: "it's", doubled: 6 },
    ]);
    expect(builds).toBe(t.driver === 'postgres' ? 1 : 3);
  });

  it('plans generically on request: PostgreSQL runs it on the connection that plans once, without its values', async () => {
    const key = `test.generic.${Math.random()}`;
    const run = (n: number) =>
      executeHotTemplate<{ n: number; mode: string }>(
        t.db,
        key,
        (value) => sql`select ${value('n')}::int as n, current_setting('plan_cache_mode') as mode`,
        { n },
        'generic',
      );
    const answers = [await run(1), await run(2)];
    expect(answers.map((rows) => rows[0]?.n)).toEqual([1, 2]);
    if (t.driver === 'postgres')
      expect(answers.map((rows) => rows[0]?.mode)).toEqual(['force_generic_plan', 'force_generic_plan']);
  });

  it('a failing statement reports its text, with the database error as the cause', async () => {
    const failing = executeHotTemplate(
      t.db,
      `test.failing.${Math.random()}`,
      (value) => sql`select 1 / ${value('zero')}::int`,
      {
        zero: 0,
      },
    );
    const error = await failing.then(
      () => null,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    expect(error?.message).toMatch(/^Failed query: select 1 \/ \$1::int/);
    // PostgreSQL: never its values (drizzle's own message on PGlite lists them; logs strip them).
    if (t.driver === 'postgres') expect(error?.message).not.toContain('params');
    expect(error?.cause?.code).toBe('22012');
  });
});
