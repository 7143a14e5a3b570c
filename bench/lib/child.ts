import type { ChildProcess } from 'node:child_process';
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const profileDir = path.join(benchDir, 'results', 'profiles');

/**
 * Where bench processes load Herald's packages from. `dist` (the default): each package's build, as
 * Herald runs in production (`pnpm start`: `node --conditions=@herald/dist dist/main.js`); `pnpm bench`
 * builds them first (`buildHerald`). `src` (`BENCH_HERALD_FROM=src`): the TypeScript sources through
 * tsx, as tests and `pnpm dev` run them. tsx's transform (a name kept on every function made, source
 * maps) cost the API 5–8 % more CPU per `GET /v1/users/{id}` than its build (two A/B runs of
 * `experiments/api-get-profile.ts`, 2026-12-06). The bench's own files (the bare baselines, the
 * peers' workers) run through tsx either way.
 */
export const heraldFrom: 'dist' | 'src' = process.env.BENCH_HERALD_FROM === 'src' ? 'src' : 'dist';

/** Builds what the bench processes import (`@herald/api` and the packages under it); turbo's cache makes an unchanged build instant. */
export function buildHerald(checkout = path.resolve(benchDir, '..')): void {
  if (heraldFrom !== 'dist') return;
  // Through pnpm: turbo looks for the package manager's binary, which a bench started with `npx tsx` lacks.
  execFileSync(
    'npx',
    ['-y', 'pnpm@10', 'exec', 'turbo', 'run', 'build', '--filter=@herald/api', '--output-logs=errors-only'],
    {
      cwd: checkout,
      stdio: 'inherit',
    },
  );
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** A bench helper process (receiver, worker, API server) driven over IPC. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly ready: Record<string, unknown>;
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Asks the child to exit cleanly (a CPU profile is written on exit). */
  exit(): Promise<void>;
}

const children = new Set<ChildProcess>();

/** Kills helpers still running when the bench dies (they are ours, found by pid). */
export function killChildren() {
  for (const child of children) child.kill('SIGKILL');
}

export async function startChild(
  file: string,
  name: string,
  options: { profile?: boolean /** Another checkout's bench folder (A/B experiments). */; benchDir?: string } = {},
): Promise<Child> {
  const execArgv = ['--import', 'tsx', ...(heraldFrom === 'dist' ? ['--conditions=@herald/dist'] : [])];
  if (options.profile) {
    // One directory per process: tsx's loader thread writes a profile of its own beside the main thread's.
    const dir = path.join(profileDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  const proc = fork(path.join(options.benchDir ?? benchDir, file), [], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(proc);
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = true;
      children.delete(proc);
      for (const p of pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
      pending.clear();
      resolve();
    });
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Record<string, unknown>));
    proc.once('exit', (code) => reject(new Error(`${name} exited before it was ready (code ${code})`)));
  });
  proc.on('message', (m) => {
    const reply = m as Reply;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new Error(`${name}: ${reply.error}`));
  });
  return {
    name,
    pid: proc.pid!,
    ready,
    call<T>(cmd: string, args: Record<string, unknown> = {}) {
      if (exited) return Promise.reject(new Error(`${name} is not running`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, cmd, args });
      });
    },
    async exit() {
      if (exited) return;
      proc.send({ id: 0, cmd: 'exit', args: {} });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

type Handler = (args: Record<string, any>) => unknown;

/** The child side: answers `{ id, cmd, args }` messages with the handler's result. */
export function serveCommands(handlers: Record<string, Handler>, ready: Record<string, unknown> = {}) {
  process.on('message', async (m: { id: number; cmd: string; args: Record<string, unknown> }) => {
    if (m.cmd === 'exit') {
      try {
        await handlers.exit?.({});
      } finally {
        process.exit(0);
      }
    }
    const handler = handlers[m.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${m.cmd}`);
      const value = await handler(m.args);
      process.send!({ id: m.id, ok: true, value });
    } catch (error) {
      process.send!({ id: m.id, ok: false, error: (error as Error).stack ?? String(error) });
    }
  });
  // The parent going away (Ctrl-C, crash) must not leave helpers behind.
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true, ...ready });
}
