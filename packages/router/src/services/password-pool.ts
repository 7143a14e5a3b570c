import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Password hashing runs on a few dedicated `worker_threads`, never on
 * libuv's shared pool of 4 threads: `dns.lookup`, `fs` and zlib queue there,
 * and async native hashing (node:crypto's `scrypt`, or `@node-rs/argon2`'s
 * promise API, which is napi async work) would make them wait behind every
 * login. Inside a worker the hash is computed synchronously, so it only
 * occupies that worker's own thread.
 */

export type PasswordJob =
  | { op: 'hash'; password: string }
  | { op: 'verify'; password: string; encoded: string }
  | { op: 'scrypt'; password: string; salt: Buffer; keyLength: number; N: number; r: number; p: number };

type JobResult = string | boolean | Buffer;

/** Thrown when more jobs are waiting than the pool's queue bound allows: answer 503 and let the client retry. */
export class PasswordQueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`Too many password hashes queued (${waiting} waiting)`);
    this.name = 'PasswordQueueFullError';
  }
}

export interface PasswordPoolOptions {
  /** Worker threads (each hash is one thread's work); 1–2 keep hashing from eating the API's cores. */
  threads: number;
  /**
   * Jobs allowed to wait for a free worker, all owners together. When they are all taken, the
   * owner with the most waiting gives up its newest to an owner with fewer; otherwise the new job
   * is refused with {@link PasswordQueueFullError}.
   */
  maxQueue: number;
}

/**
 * Whose turn a job takes (`owner`, a project id), and whether it goes ahead of that owner's other
 * waiting jobs (`first`): work done inside a transaction that holds a transaction id (an
 * Idempotency-Key request's), which holds back every project's event feed while it waits.
 */
export interface PasswordTurn {
  owner: string;
  first?: boolean;
}

interface Job {
  owner: string;
  first: boolean;
  message: PasswordJob;
  resolve(value: JobResult): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

// Plain CommonJS evaluated in each worker: no TypeScript loader needed, so the
// same code runs under tsx, vitest and a build. The argon2 module's path is
// resolved here, in the main thread, and handed over.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
const argon2 = require(workerData.argon2Path);
const OPTIONS = workerData.argon2Options;
parentPort.on('message', (job) => {
  try {
    let value;
    if (job.op === 'hash') value = argon2.hashSync(job.password, OPTIONS);
    else if (job.op === 'verify') {
      try { value = argon2.verifySync(job.encoded, job.password); } catch { value = false; }
    } else {
      const key = scryptSync(job.password, Buffer.from(job.salt), job.keyLength, {
        N: job.N, r: job.r, p: job.p, maxmem: 256 * 1024 * 1024,
      });
      value = key;
    }
    parentPort.postMessage({ ok: true, value });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message || error) });
  }
});
`;

/** OWASP's Argon2id parameters: 19 MiB, 2 passes, 1 lane. */
export const argon2Options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;

/**
 * Jobs wait per owner (a project), and workers take them in turn, one owner after another: a
 * tenant hashing as fast as its rate limit allows (each key's budget is above what the threads
 * can hash) gets its turns like any other, instead of filling the queue and making every other
 * tenant's logins wait or answer 503.
 */
export class PasswordPool {
  private readonly slots: Slot[] = [];
  /** Waiting jobs by owner; the map's order is the order owners take turns in. */
  private readonly queues = new Map<string, Job[]>();
  private waitingCount = 0;
  private closed = false;
  private argon2Path: string | null = null;

  constructor(readonly options: PasswordPoolOptions) {}

  /** Jobs waiting for a worker (not counting those being computed). */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Runs `message` on a worker thread; `turn` (a project id, or a `PasswordTurn`) is whose turn it takes. */
  run(message: PasswordJob, turn: string | PasswordTurn = ''): Promise<JobResult> {
    if (this.closed) return Promise.reject(new Error('The password pool is closed'));
    const { owner, first = false } = typeof turn === 'string' ? { owner: turn } : turn;
    return new Promise<JobResult>((resolve, reject) => {
      const job: Job = { owner, first, message, resolve, reject };
      const free = this.freeSlot();
      if (free) return this.start(free, job);
      if (this.waitingCount >= this.options.maxQueue && !this.makeRoomFor(owner)) {
        return reject(new PasswordQueueFullError(this.waitingCount));
      }
      this.enqueue(job);
    });
  }

  /** Terminates the workers; jobs still waiting or running are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('The password pool is closed');
    for (const jobs of this.queues.values()) for (const job of jobs) job.reject(error);
    this.queues.clear();
    this.waitingCount = 0;
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      slot.job?.reject(error);
      slot.job = null;
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private freeSlot(): Slot | null {
    const idle = this.slots.find((slot) => !slot.job);
    if (idle) return idle;
    if (this.slots.length >= Math.max(1, this.options.threads)) return null;
    const slot = this.spawn();
    this.slots.push(slot);
    return slot;
  }

  private spawn(): Slot {
    this.argon2Path ??= createRequire(import.meta.url).resolve('@node-rs/argon2');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { argon2Path: this.argon2Path, argon2Options },
    });
    // An idle worker never holds the process open.
    worker.unref();
    const slot: Slot = { worker, job: null };
    worker.on('message', (reply: { ok: true; value: JobResult } | { ok: false; message: string }) => {
      const job = slot.job;
      slot.job = null;
      worker.unref();
      if (job) {
        if (reply.ok) job.resolve(reply.value instanceof Uint8Array ? Buffer.from(reply.value) : reply.value);
        else job.reject(new Error(reply.message));
      }
      this.next(slot);
    });
    const fail = (error: unknown) => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.job?.reject(error);
      slot.job = null;
      // A replacement is spawned for whatever is still waiting.
      if (this.waitingCount > 0 && !this.closed) {
        const free = this.freeSlot();
        const job = free ? this.dequeue() : undefined;
        if (free && job) this.start(free, job);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (slot.job || this.slots.includes(slot)) fail(new Error(`Password worker exited with code ${code}`));
    });
    return slot;
  }

  private start(slot: Slot, job: Job) {
    slot.job = job;
    // Ref'd while it computes, so a pending hash is not dropped by an exiting process.
    slot.worker.ref();
    slot.worker.postMessage(job.message);
  }

  private next(slot: Slot) {
    const job = this.dequeue();
    if (job) this.start(slot, job);
  }

  private enqueue(job: Job) {
    const jobs = this.queues.get(job.owner);
    if (!jobs) this.queues.set(job.owner, [job]);
    else if (!job.first) jobs.push(job);
    else {
      // After the owner's other `first` jobs, ahead of the rest.
      const behind = jobs.findIndex((waiting) => !waiting.first);
      jobs.splice(behind === -1 ? jobs.length : behind, 0, job);
    }
    this.waitingCount += 1;
  }

  /** The next owner's oldest job; that owner then goes to the back of the turn order. */
  private dequeue(): Job | undefined {
    const first = this.queues.entries().next();
    if (first.done) return undefined;
    const [owner, jobs] = first.value;
    const job = jobs.shift();
    this.queues.delete(owner);
    if (jobs.length > 0) this.queues.set(owner, jobs);
    this.waitingCount -= 1;
    return job;
  }

  /**
   * The queue is full: the owner with the most waiting refuses its newest job (503) when it has
   * at least two more waiting than `owner`, so one owner cannot hold every place.
   */
  private makeRoomFor(owner: string): boolean {
    const own = this.queues.get(owner)?.length ?? 0;
    let largest: Job[] | undefined;
    for (const jobs of this.queues.values()) if (!largest || jobs.length > largest.length) largest = jobs;
    if (!largest || largest.length < own + 2) return false;
    const evicted = largest.pop()!;
    if (largest.length === 0) this.queues.delete(evicted.owner);
    this.waitingCount -= 1;
    evicted.reject(new PasswordQueueFullError(this.waitingCount));
    return true;
  }
}
