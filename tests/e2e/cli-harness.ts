import { type ChildProcess, spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
// One home for how a test runs the CLI: its entry and a clean environment.
import { cliEnv, cliMain } from '../../packages/cli/test/harness';

/** Tests that start several tsx processes one after another: room beyond the default minute on a loaded CI machine. */
export const PROCESS_TEST_TIMEOUT_MS = 180_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `herald <args>` as a process to completion (stdin: `input`, or nothing). */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    env: cliEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** A process started by `startNode` (`startCli`). */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout's lines parsed as JSON (`--json` streams one object per line). */
  jsonLines(): any[];
  /** Resolves once stdout holds a JSON line matching `predicate`. */
  waitForLine(predicate: (line: any) => boolean, timeoutMs?: number): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `herald <args>` and leaves it running (killed when the test ends if still alive). */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  return startNode(cliMain, args, env);
}

/**
 * Runs a TypeScript entry (`node --import tsx`) as its own process, with the environment of CLI runs
 * plus `env`: the CLI, a local receiver, an API. Killed when the test ends if still alive.
 */
export function startNode(entry: string, args: string[], env: Record<string, string> = {}, cwd?: string): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    }),
  );
  const jsonLines = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    jsonLines,
    exited,
    waitForLine(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = jsonLines().find(predicate);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`herald exited (${child.exitCode}) before the line came:\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching line within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** A port nothing listens on (taken from the OS, then freed): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
