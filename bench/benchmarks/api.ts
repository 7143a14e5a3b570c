/**
 * Figure 2: requests per second of POST /v1/users (REST), users.create
 * (tRPC), GET /v1/users/{id} and users.get ÷ a bare Hono route doing the
 * same single INSERT / SELECT through postgres.js with the same pool.
 * Users are created without a password; scrypt is measured on its own.
 */
import os from 'node:os';
import { newId } from '@herald/db';
import { hashPassword } from '@herald/router';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import { connect, seedProject } from '../lib/fixtures';
import type { LoadRequest } from '../lib/load';
import { runLoad } from '../lib/load';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, monoMs, ratios, spread } from '../lib/stats';

type Phase = { name: string; server: 'herald' | 'bare'; request: (i: number, tag: string) => LoadRequest };

async function measureHashing(count: number) {
  await hashPassword('warm-up password'); // first call allocates
  const t = monoMs();
  for (let i = 0; i < count; i++) await hashPassword(`correct horse battery ${i}`);
  const sequentialMs = (monoMs() - t) / count;
  const parallel = os.cpus().length;
  const t2 = monoMs();
  await Promise.all(Array.from({ length: parallel * Math.max(1, count >> 1) }, (_, i) => hashPassword(`staple ${i}`)));
  const perSecond = (parallel * Math.max(1, count >> 1) * 1000) / (monoMs() - t2);
  return { sequentialMs, perSecond, parallel };
}

export async function apiBench(ctx: BenchContext): Promise<Figure[]> {
  const { scale } = ctx;
  const bench = await createBenchDatabase('api');
  const sql = connect(bench.url);
  const herald = await startChild('api-server.ts', 'herald-api', { profile: ctx.profile === 'api' });
  const bare = await startChild('api-server.ts', 'bare-api');
  try {
    const project = await seedProject(sql);
    // Users to read: the same rows for both servers.
    const ids = Array.from({ length: 1000 }, () => newId('user'));
    await sql`insert into users (id, project_id, email, name)
              select id, ${project.projectId}, id || '@read.example', 'Reader' from unnest(${ids}::text[]) as id`;
    const origins = {
      herald: (await herald.call<{ url: string }>('start', { mode: 'herald', url: bench.url })).url,
      bare: (await bare.call<{ url: string }>('start', { mode: 'bare', url: bench.url, projectId: project.projectId }))
        .url,
    };
    const auth = { authorization: `Bearer ${project.apiKey}` };
    const json = { ...auth, 'content-type': 'application/json' };
    const createBody = (i: number, tag: string) =>
      JSON.stringify({ email: `u${i}.${tag}@bench.example`, name: 'Bench User' });
    const id = (i: number) => ids[i % ids.length]!;
    const phases: Phase[] = [
      {
        name: 'bareCreate',
        server: 'bare',
        request: (i, tag) => ({ method: 'POST', path: '/v1/users', headers: json, body: createBody(i, tag) }),
      },
      {
        name: 'restCreate',
        server: 'herald',
        request: (i, tag) => ({ method: 'POST', path: '/v1/users', headers: json, body: createBody(i, tag) }),
      },
      {
        name: 'trpcCreate',
        server: 'herald',
        request: (i, tag) => ({ method: 'POST', path: '/trpc/users.create', headers: json, body: createBody(i, tag) }),
      },
      { name: 'bareGet', server: 'bare', request: (i) => ({ method: 'GET', path: `/v1/users/${id(i)}` }) },
      {
        name: 'restGet',
        server: 'herald',
        request: (i) => ({ method: 'GET', path: `/v1/users/${id(i)}`, headers: auth }),
      },
      {
        name: 'trpcGet',
        server: 'herald',
        request: (i) => ({
          method: 'GET',
          path: `/trpc/users.get?input=${encodeURIComponent(JSON.stringify({ id: id(i) }))}`,
          headers: auth,
        }),
      },
    ];
    const rps: Record<string, number[]> = Object.fromEntries(phases.map((p) => [p.name, []]));
    const run = async (phase: Phase, tag: string, durationMs: number) => {
      const result = await runLoad(origins[phase.server], {
        concurrency: scale.apiConcurrency,
        durationMs,
        request: (i) => phase.request(i, `${phase.name}-${tag}`),
      });
      if (result.errors > 0)
        throw new Error(`${phase.name}: ${result.errors} failed requests, first: ${result.firstError}`);
      return result.rps;
    };
    for (const phase of phases) await run(phase, 'warm', Math.min(1000, scale.apiDurationMs));
    for (let round = 0; round < scale.rounds; round++) {
      const order = round % 2 === 0 ? phases : [...phases].reverse();
      for (const phase of order) rps[phase.name]!.push(await run(phase, `r${round}`, scale.apiDurationMs));
      ctx.log(`  round ${round + 1}: ${phases.map((p) => `${p.name} ${fmt(rps[p.name]!.at(-1)!)}/s`).join(', ')}`);
    }
    const hashing = await measureHashing(scale.hashCount);
    const figure = (fid: string, name: string, h: string, b: string): Figure => ({
      id: fid,
      name,
      ratio: spread(ratios(rps[h]!, rps[b]!)),
      goal: { op: '>=', value: 0.8 },
      absolute: `herald ${fmtSpread(spread(rps[h]!), 0)}/s; bare ${fmtSpread(spread(rps[b]!), 0)}/s`,
      detail: { heraldPerSecond: rps[h], barePerSecond: rps[b], concurrency: scale.apiConcurrency, poolSize: 10 },
    });
    return [
      figure('2a', 'API POST /v1/users (REST)', 'restCreate', 'bareCreate'),
      figure('2b', 'API users.create (tRPC)', 'trpcCreate', 'bareCreate'),
      figure('2c', 'API GET /v1/users/{id} (REST)', 'restGet', 'bareGet'),
      figure('2d', 'API users.get (tRPC)', 'trpcGet', 'bareGet'),
      {
        id: '·',
        name: 'Password hashing (scrypt N=2^17)',
        ratio: null,
        goal: null,
        absolute: `${fmt(hashing.sequentialMs, 0)} ms per hash; ${fmt(hashing.perSecond, 1)} hashes/s with ${hashing.parallel} at once`,
        detail: hashing,
      },
    ];
  } finally {
    await herald.exit();
    await bare.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
