/**
 * One API request kind alone (`GET /v1/users/{id}` or `POST /v1/users`), Herald's API server and the
 * bare route of figure 2 side by side, 3 s per phase: requests/s and each server process's CPU µs
 * per request (from /proc, all its threads), a steadier measure than requests/s on a 2-core host
 * where the load generator and PostgreSQL share the cores. Not part of `pnpm bench`.
 *
 *   npx tsx bench/experiments/api-get-profile.ts [rounds=3] [get|post]
 *   PROFILE=1 (Herald's server) or PROFILE_BARE=1 (the bare one): also a CPU profile, summarized
 *   HERALD_ONLY=1: three more Herald-only phases after the warm-up (a profile of Herald alone)
 */
import { newId } from '@herald/db';
import { buildHerald, profileDir, startChild } from '../lib/child';
import { connect, seedProject } from '../lib/fixtures';
import { runLoad } from '../lib/load';
import { createBenchDatabase } from '../lib/pg';
import { summarizeProfiles } from '../lib/profile';

buildHerald();
if (process.env.AB_BASE) buildHerald(process.env.AB_BASE);
const rounds = Number(process.argv[2] ?? 3);
const kind = process.argv[3] ?? 'get';
const started = Date.now();
const bench = await createBenchDatabase('apiget');
const sql = connect(bench.url);
const project = await seedProject(sql);
const ids = Array.from({ length: 1000 }, () => newId('user'));
await sql`insert into users (id, project_id, email, name) select id, ${project.projectId}, id || '@read.example', 'Reader' from unnest(${ids}::text[]) as id`;
const herald = await startChild('api-server.ts', 'herald-api', { profile: process.env.PROFILE === '1' });
// AB=1: the "bare" server is Herald's too, started with HERALD_EXP=1 (a switch a change under test
// reads). AB_BASE=<checkout>: the "bare" server is that checkout's Herald (e.g. a `git worktree` of
// the code before a change, installed): its figures are the "bare" columns.
const abBase = process.env.AB_BASE;
const ab = process.env.AB === '1' || abBase !== undefined;
if (process.env.AB === '1') process.env.HERALD_EXP = '1';
const bare = await startChild('api-server.ts', ab ? 'herald-b-api' : 'bare-api', {
  profile: process.env.PROFILE_BARE === '1',
  ...(abBase ? { benchDir: `${abBase}/bench` } : {}),
});
delete process.env.HERALD_EXP;
const origins = {
  herald: (await herald.call<{ url: string }>('start', { mode: 'herald', url: bench.url })).url,
  bare: (
    await bare.call<{ url: string }>('start', {
      mode: ab ? 'herald' : 'bare',
      url: bench.url,
      projectId: project.projectId,
    })
  ).url,
};
const auth = { authorization: `Bearer ${project.apiKey}` };
const json = { ...auth, 'content-type': 'application/json' };
let n = 0;
const req = (i: number) =>
  kind === 'get'
    ? { method: 'GET' as const, path: `/v1/users/${ids[i % ids.length]}`, headers: auth }
    : {
        method: 'POST' as const,
        path: '/v1/users',
        headers: json,
        body: JSON.stringify({ email: `u${n++}@b.example`, name: 'Bench User' }),
      };

import { readdirSync, readFileSync } from 'node:fs';

const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
// Every PostgreSQL process's CPU (backends, walwriter, …): what each request costs the database.
const pgPids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('postgres');
      } catch {
        return false;
      }
    })
    .map(Number);
const pgMs = () =>
  pgPids().reduce((sum, pid) => {
    try {
      return sum + cpuMs(pid);
    } catch {
      return sum;
    }
  }, 0);
const run = async (o: string) => {
  const pid = o === origins.herald ? herald.pid : bare.pid;
  const c0 = cpuMs(pid);
  const p0 = pgMs();
  const l0 = process.cpuUsage();
  const r = await runLoad(o, { concurrency: 32, durationMs: 3000, request: req });
  const l = process.cpuUsage(l0);
  return {
    ...r,
    cpuUs: ((cpuMs(pid) - c0) * 1000) / r.ok,
    pgUs: ((pgMs() - p0) * 1000) / r.ok,
    loadUs: (l.user + l.system) / r.ok,
  };
};
await run(origins.herald);
await run(origins.herald);
await run(origins.bare);
if (process.env.HERALD_ONLY) {
  for (let i = 0; i < 3; i++) console.log('herald only', (await run(origins.herald)).cpuUs.toFixed(1));
}
for (let r = 0; r < rounds; r++) {
  const h = await run(origins.herald);
  const b = await run(origins.bare);
  console.log(
    `round ${r + 1}: herald ${h.rps.toFixed(0)}/s bare ${b.rps.toFixed(0)}/s ratio ${(h.rps / b.rps).toFixed(3)} cpu µs/req herald ${h.cpuUs.toFixed(1)} bare ${b.cpuUs.toFixed(1)} cpu ratio ${(b.cpuUs / h.cpuUs).toFixed(3)}; postgres µs/req herald ${h.pgUs.toFixed(1)} bare ${b.pgUs.toFixed(1)}; load generator µs/req herald ${h.loadUs.toFixed(1)} bare ${b.loadUs.toFixed(1)}; errors ${h.errors}`,
  );
}
await herald.exit();
await bare.exit();
await sql.end();
await bench.drop();
if (process.env.PROFILE === '1' || process.env.PROFILE_BARE === '1')
  console.log(summarizeProfiles(profileDir, started));
