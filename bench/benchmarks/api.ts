/**
 * Figure 2: requests per second of POST /v1/users (REST), users.create
 * (tRPC), GET /v1/users/{id} and users.get ÷ a bare Hono route doing the
 * same single INSERT / SELECT through postgres.js with the same pool.
 * Users are created without a password; passwords are measured on their own:
 * hashes/s with 2 at once (argon2id on the hashing threads; before: scrypt on
 * libuv's pool) and correct-password logins/s through the API (argon2id
 * hashes stored; before: scrypt hashes stored).
 */
import { randomBytes, scrypt, scryptSync } from 'node:crypto';
import { newId } from '@herald/db';
import { hashPassword } from '@herald/router';
import { startChild } from '../lib/child';
import type { BenchContext, Figure } from '../lib/context';
import type { Sql } from '../lib/fixtures';
import { connect, seedProject } from '../lib/fixtures';
import type { LoadRequest } from '../lib/load';
import { runLoad } from '../lib/load';
import { createBenchDatabase } from '../lib/pg';
import { fmt, fmtSpread, monoMs, ratios, spread } from '../lib/stats';

type Phase = { name: string; server: 'herald' | 'bare'; request: (i: number, tag: string) => LoadRequest };

/** Old password hashing, for the before figure: scrypt N=2^17 through node:crypto's async API (libuv's pool). */
function legacyScrypt(password: string) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, randomBytes(16), 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** ms per hash one at a time, and hashes/s with `parallel` callers hashing back to back. */
async function measureHash(hash: (password: string) => Promise<unknown>, count: number, parallel: number) {
  await hash('warm-up password'); // first call allocates (and starts a hashing thread)
  const t = monoMs();
  for (let i = 0; i < count; i++) await hash(`correct horse battery ${i}`);
  const sequentialMs = (monoMs() - t) / count;
  const perCaller = Math.max(1, count >> 1);
  const t2 = monoMs();
  await Promise.all(
    Array.from({ length: parallel }, async (_, c) => {
      for (let i = 0; i < perCaller; i++) await hash(`staple ${c}.${i}`);
    }),
  );
  const perSecond = (parallel * perCaller * 1000) / (monoMs() - t2);
  return { sequentialMs, perSecond, parallel };
}

async function measureHashing(count: number) {
  // 2 at once: the API's hashing threads (HERALD_PASSWORD_THREADS, default 2).
  const argon2id = await measureHash(hashPassword, count * 4, 2);
  const scryptBefore = await measureHash(legacyScrypt, count, 2);
  return { argon2id, scryptBefore };
}

/** Clients logging in at once: within the API's hashing queue (2 threads + 16 waiting), so none is refused. */
const LOGIN_CONCURRENCY = 16;
const LOGIN_PASSWORD = 'correct horse battery staple';
/** Logins available to the before phases: each uses a user once (a scrypt hash is rehashed at its first login). */
const SCRYPT_USERS = 2000;

/** A stored hash as Herald made them before argon2id (`$scrypt$ln=17,r=8,p=1$…`). */
function legacyScryptHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFKC'), salt, 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=17,r=8,p=1$${b64(salt)}$${b64(key)}`;
}

/**
 * Users to log in as: `after` with today's argon2id hash (reused, a login
 * leaves it as it is), `before` with a scrypt hash, one per login, since a
 * successful login rehashes it to argon2id. One hash each, shared by the rows.
 */
async function seedLoginUsers(sql: Sql, projectId: string) {
  const argon2id = await hashPassword(LOGIN_PASSWORD);
  const legacy = legacyScryptHash(LOGIN_PASSWORD);
  const seed = async (label: string, count: number, hash: string) => {
    const emails = Array.from({ length: count }, (_, i) => `${label}${i}@login.example`);
    const ids = emails.map(() => newId('user'));
    await sql`insert into users (id, project_id, email, password_hash)
              select id, ${projectId}, email, ${hash} from unnest(${ids}::text[], ${emails}::text[]) as u(id, email)`;
    return emails;
  };
  return { after: await seed('argon', 64, argon2id), before: await seed('scrypt', SCRYPT_USERS, legacy) };
}

/**
 * Correct-password logins/s through the API, rounds alternating as in the
 * other phases. Before: each login checks a stored scrypt hash (on the
 * hashing threads) and rehashes it to argon2id, as the first login of a
 * user migrated from scrypt does; after: it checks an argon2id hash.
 */
async function measureLogins(
  origin: string,
  sql: Sql,
  project: { projectId: string; apiKey: string },
  scale: BenchContext['scale'],
  log: (message: string) => void,
) {
  const users = await seedLoginUsers(sql, project.projectId);
  const headers = { authorization: `Bearer ${project.apiKey}`, 'content-type': 'application/json' };
  let nextBefore = 0;
  const emailFor = {
    after: (i: number) => users.after[i % users.after.length]!,
    before: () => {
      if (nextBefore >= users.before.length) throw new Error(`more than ${SCRYPT_USERS} logins in the before phases`);
      return users.before[nextBefore++]!;
    },
  };
  const run = async (side: 'before' | 'after', durationMs: number) => {
    const result = await runLoad(origin, {
      concurrency: LOGIN_CONCURRENCY,
      durationMs,
      request: (i) => ({
        method: 'POST',
        path: '/v1/logins',
        headers,
        body: JSON.stringify({ email: emailFor[side](i), password: LOGIN_PASSWORD }),
      }),
    });
    if (result.errors > 0) throw new Error(`logins ${side}: ${result.errors} failed, first: ${result.firstError}`);
    return result.rps;
  };
  const perSecond = { before: [] as number[], after: [] as number[] };
  for (const side of ['before', 'after'] as const) await run(side, Math.min(1000, scale.apiDurationMs));
  for (let round = 0; round < scale.rounds; round++) {
    const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const side of order) perSecond[side].push(await run(side, scale.apiDurationMs));
    log(
      `  logins round ${round + 1}: after ${fmt(perSecond.after.at(-1)!, 1)}/s, before ${fmt(perSecond.before.at(-1)!, 1)}/s`,
    );
  }
  return perSecond;
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
    const logins = await measureLogins(origins.herald, sql, project, scale, ctx.log);
    const hashing = await measureHashing(scale.hashCount);
    // Goals of issue 14: REST create ≥ 0.7 and read ≥ 0.6 of the same-work bare route; tRPC within 15 % of REST.
    const figure = (fid: string, name: string, h: string, b: string, goal: number): Figure => ({
      id: fid,
      name,
      ratio: spread(ratios(rps[h]!, rps[b]!)),
      goal: { op: '>=', value: goal },
      absolute: `herald ${fmtSpread(spread(rps[h]!), 0)}/s; ${b.startsWith('bare') ? 'bare' : 'REST'} ${fmtSpread(spread(rps[b]!), 0)}/s`,
      detail: {
        heraldPerSecond: rps[h],
        [b.startsWith('bare') ? 'barePerSecond' : 'restPerSecond']: rps[b],
        concurrency: scale.apiConcurrency,
        poolSize: 10,
      },
    });
    return [
      figure('2a', 'API POST /v1/users (REST)', 'restCreate', 'bareCreate', 0.7),
      figure('2b', 'API users.create (tRPC)', 'trpcCreate', 'bareCreate', 0.7 * 0.85),
      figure('2c', 'API GET /v1/users/{id} (REST)', 'restGet', 'bareGet', 0.6),
      figure('2d', 'API users.get (tRPC)', 'trpcGet', 'bareGet', 0.6 * 0.85),
      figure('2e', 'API users.create tRPC ÷ REST', 'trpcCreate', 'restCreate', 0.85),
      figure('2f', 'API users.get tRPC ÷ REST', 'trpcGet', 'restGet', 0.85),
      {
        id: '·',
        name: 'Password hashes/s, 2 at once',
        ratio: null,
        goal: null,
        absolute:
          `argon2id on 2 hashing threads ${fmt(hashing.argon2id.perSecond, 1)}/s; ` +
          `before, scrypt N=2^17 on libuv's pool ${fmt(hashing.scryptBefore.perSecond, 1)}/s ` +
          `(one at a time: ${fmt(hashing.argon2id.sequentialMs, 0)} ms vs ${fmt(hashing.scryptBefore.sequentialMs, 0)} ms per hash)`,
        detail: hashing,
      },
      {
        id: '·',
        name: `Logins/s (${LOGIN_CONCURRENCY} clients)`,
        ratio: spread(ratios(logins.after, logins.before)),
        goal: null,
        absolute:
          `POST /v1/logins, right password: argon2id stored ${fmtSpread(spread(logins.after), 1)}/s; ` +
          `before, scrypt stored ${fmtSpread(spread(logins.before), 1)}/s`,
        detail: { ...logins, concurrency: LOGIN_CONCURRENCY },
      },
    ];
  } finally {
    await herald.exit();
    await bare.exit();
    await sql.end({ timeout: 2 });
    await bench.drop();
  }
}
