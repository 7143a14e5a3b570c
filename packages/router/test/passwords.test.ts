import { lookup } from 'node:dns/promises';
import { TRPCError } from '@trpc/server';
import { afterAll, describe, expect, it } from 'vitest';
import { toApiErrorBody } from '../src/errors';
import { PasswordPool, PasswordQueueFullError } from '../src/services/password-pool';
import {
  checkPassword,
  closePasswordHashing,
  configurePasswordHashing,
  hashPassword,
  hashPasswordLegacyScrypt,
  parseLegacyScryptHash,
  passwordHashParams,
  verifyPassword,
} from '../src/services/passwords';

afterAll(() => closePasswordHashing());

// Each argon2id hash costs ~20-60 ms on a hashing thread; a legacy scrypt one ~400 ms.
describe('password hashing (argon2id, OWASP parameters, on worker threads)', () => {
  it('uses m=19 MiB, t=2, p=1 with a 16-byte salt and a 32-byte hash', () => {
    expect(passwordHashParams).toMatchObject({
      algorithm: 'argon2id',
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
      saltLength: 16,
      keyLength: 32,
    });
  });

  it('hashes to a salted PHC string that verifies the password, its NFKC twin, and nothing else', async () => {
    const password = 'Pa55 wörd ﬁne';
    const [first, second] = await Promise.all([hashPassword(password), hashPassword(password)]);
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    // A fresh salt per hash: equal passwords do not give equal hashes.
    expect(second).not.toBe(first);

    const [right, twin, wrong] = await Promise.all([
      checkPassword(password, first),
      // 'ﬁ' (U+FB01) is 'fi' after NFKC: what a user types on another keyboard.
      checkPassword('Pa55 wörd fine', first),
      checkPassword('Pa55 wörd ﬁnE', first),
    ]);
    expect({ right, twin, wrong }).toEqual({
      right: { ok: true, needsRehash: false },
      twin: { ok: true, needsRehash: false },
      wrong: { ok: false, needsRehash: false },
    });
  });

  it('a legacy scrypt hash still verifies, and asks to be rehashed', async () => {
    const legacy = await hashPasswordLegacyScrypt('old password');
    expect(legacy).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(parseLegacyScryptHash(legacy)).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });
    await expect(checkPassword('old password', legacy)).resolves.toEqual({ ok: true, needsRehash: true });
    await expect(checkPassword('old passw0rd', legacy)).resolves.toEqual({ ok: false, needsRehash: false });
  });

  it('argon2id with weaker parameters verifies and asks to be rehashed', async () => {
    // m=4096,t=1: the reference test vector style of an older deployment.
    const { hashSync } = await import('@node-rs/argon2');
    const weak = hashSync('weak', { memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await expect(checkPassword('weak', weak)).resolves.toEqual({ ok: true, needsRehash: true });
  });

  it('a stored value that is not a hash never verifies, and does not throw', async () => {
    for (const stored of [
      '',
      'plaintext',
      '$scrypt$ln=17,r=8,p=1$$',
      '$scrypt$ln=40,r=8,p=1$c2FsdA$aGFzaA',
      '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
      '$argon2id$garbage',
    ]) {
      await expect(verifyPassword('plaintext', stored)).resolves.toBe(false);
    }
  });
});

describe('the hashing pool', () => {
  it('past its queue bound refuses at once, and the API answers 503 service_unavailable with Retry-After', async () => {
    const pool = new PasswordPool({ threads: 1, maxQueue: 2 });
    try {
      const accepted = Array.from({ length: 3 }, (_, i) => pool.run({ op: 'hash', password: `p${i}` }));
      await expect(pool.run({ op: 'hash', password: 'one too many' })).rejects.toBeInstanceOf(PasswordQueueFullError);
      expect(await Promise.all(accepted)).toHaveLength(3);
    } finally {
      await pool.close();
    }

    await configurePasswordHashing({ threads: 1, maxQueue: 1 });
    try {
      const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => hashPassword(`p${i}`)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
      const error = (results[2] as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(TRPCError);
      const { status, body, retryAfterSeconds } = toApiErrorBody(error);
      expect({ status, code: body.error.code }).toEqual({ status: 503, code: 'service_unavailable' });
      expect(retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      await closePasswordHashing();
    }
  });

  it('owners take turns: a tenant with a full queue neither delays another’s job behind all of its own nor keeps it out', async () => {
    const pool = new PasswordPool({ threads: 1, maxQueue: 6 });
    const finished: string[] = [];
    const run = (owner: string, i: number) =>
      pool.run({ op: 'hash', password: `${owner}${i}` }, owner).then(
        () => finished.push(`${owner}${i}`),
        (error: unknown) => {
          finished.push(`${owner}${i}:refused`);
          expect(error).toBeInstanceOf(PasswordQueueFullError);
        },
      );
    try {
      // noisy: one running, six waiting (the whole queue).
      const noisy = Array.from({ length: 7 }, (_, i) => run('noisy', i));
      // quiet arrives with the queue full: noisy's newest gives up its place.
      const quiet = [run('quiet', 0), run('quiet', 1)];
      await Promise.all([...noisy, ...quiet]);
      expect(finished.filter((name) => name.endsWith(':refused'))).toEqual(['noisy6:refused', 'noisy5:refused']);
      // quiet's jobs ran in turn with noisy's, not after all of them.
      const done = finished.filter((name) => !name.endsWith(':refused'));
      expect(done.indexOf('quiet0')).toBeLessThanOrEqual(2);
      expect(done.indexOf('quiet1')).toBeLessThanOrEqual(4);
      // An owner never takes another's place when it already has as many waiting.
      const even = new PasswordPool({ threads: 1, maxQueue: 2 });
      try {
        const held = [even.run({ op: 'hash', password: 'a0' }, 'a'), even.run({ op: 'hash', password: 'a1' }, 'a')];
        const b = even.run({ op: 'hash', password: 'b0' }, 'b');
        await expect(even.run({ op: 'hash', password: 'b1' }, 'b')).rejects.toBeInstanceOf(PasswordQueueFullError);
        await Promise.all([...held, b]);
      } finally {
        await even.close();
      }
    } finally {
      await pool.close();
    }
  });

  it('a job marked first goes ahead of its owner’s other waiting jobs, after its earlier first ones, not ahead of other owners’ turns', async () => {
    const pool = new PasswordPool({ threads: 1, maxQueue: 8 });
    const finished: string[] = [];
    const run = (name: string, turn: { owner: string; first?: boolean }) =>
      pool.run({ op: 'hash', password: name }, turn).then(() => finished.push(name));
    try {
      const jobs = [
        run('a-running', { owner: 'a' }),
        run('a-waiting0', { owner: 'a' }),
        run('a-waiting1', { owner: 'a' }),
        run('b0', { owner: 'b' }),
        run('a-first0', { owner: 'a', first: true }),
        run('a-first1', { owner: 'a', first: true }),
      ];
      await Promise.all(jobs);
      expect(finished).toEqual(['a-running', 'a-first0', 'b0', 'a-first1', 'a-waiting0', 'a-waiting1']);
    } finally {
      await pool.close();
    }
  });

  it('closing rejects waiting jobs and terminates the threads', async () => {
    const pool = new PasswordPool({ threads: 1, maxQueue: 4 });
    const jobs = Promise.allSettled([pool.run({ op: 'hash', password: 'a' }), pool.run({ op: 'hash', password: 'b' })]);
    await pool.close();
    for (const job of await jobs) expect(job).toMatchObject({ status: 'rejected', reason: { message: /closed/ } });
    await expect(pool.run({ op: 'hash', password: 'c' })).rejects.toThrow(/closed/);
  });

  it("keeps libuv's shared pool free: dns.lookup answers in < 1 s while 16 hashes run", async () => {
    await configurePasswordHashing({ threads: 2, maxQueue: 16 });
    try {
      await hashPassword('warm-up'); // spawns a thread, loads the module
      // 16 at once: 2 computing, 14 waiting, all off libuv's pool. Legacy scrypt
      // checks (~400 ms each) make the load last, as the old code's hashes did.
      const legacy = await hashPasswordLegacyScrypt('legacy');
      const load = Array.from({ length: 16 }, (_, i) =>
        i % 4 === 1 ? checkPassword(`x${i}`, legacy) : hashPassword(`password ${i}`),
      );
      const started = performance.now();
      await lookup('localhost');
      const lookupMs = performance.now() - started;
      let loadDone = false;
      await Promise.all(load).then(() => {
        loadDone = true;
      });
      expect(loadDone).toBe(true);
      expect(lookupMs).toBeLessThan(1000);
    } finally {
      await closePasswordHashing();
    }
  });
});
