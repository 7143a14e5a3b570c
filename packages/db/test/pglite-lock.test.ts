import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createDb } from '../src/client';
import { DataDirInUseError, lockDataDir } from '../src/pglite-lock';

/*
 * Two PGlite instances on one directory each work on their own copy, and the last to close wins:
 * rows answered 201 vanish. Opening a directory another live process holds is refused.
 */

const holder = fileURLToPath(new URL('./fixtures/hold-pglite.ts', import.meta.url));
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-pglite-lock-'));
  dirs.push(dir);
  return path.join(dir, 'pglite');
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('a directory open in another process is refused with a clear error; once that process is killed, it opens', async () => {
  const dir = freshDir();
  const child = spawn(process.execPath, ['--import', 'tsx', holder, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('open') && resolve());
      child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    const refused = await createDb({ dataDir: dir, migrate: false }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as DataDirInUseError).ownerPid).toBe(child.pid);
    expect((refused as Error).message).toMatch(/one process only.*DATABASE_URL/);
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  // Its lock is left behind by the killed process: taken over.
  expect(existsSync(`${dir}.lock`)).toBe(true);
  const herald = await createDb({ dataDir: dir, migrate: false });
  await herald.close();
  expect(existsSync(`${dir}.lock`)).toBe(false);
}, 60_000);

it('one process cannot open a directory twice at once, and can again after closing it', async () => {
  const dir = freshDir();
  const first = await createDb({ dataDir: dir, migrate: false });
  await expect(createDb({ dataDir: dir, migrate: false })).rejects.toBeInstanceOf(DataDirInUseError);
  await first.close();
  const again = await createDb({ dataDir: dir, migrate: false });
  await again.close();
}, 60_000);

it('a lock naming a live pid of another process (the pid reused) is taken over; one being taken over is not', () => {
  const dir = freshDir();
  mkdirSync(path.dirname(dir), { recursive: true });
  // The parent process is alive, but it started at another time than the lock says.
  writeFileSync(`${dir}.lock`, `${process.ppid} 1\n`);
  const release = lockDataDir(dir);
  expect(readFileSync(`${dir}.lock`, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
  release();
  expect(existsSync(`${dir}.lock`)).toBe(false);

  // A stale lock another process is taking over right now (its guard is fresh): refused, untouched.
  writeFileSync(`${dir}.lock`, '999999999 1\n');
  writeFileSync(`${dir}.lock.takeover`, '');
  expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
  expect(readFileSync(`${dir}.lock`, 'utf8')).toBe('999999999 1\n');
});

it('a live process’s lock, with its start time, is refused', () => {
  const dir = freshDir();
  mkdirSync(path.dirname(dir), { recursive: true });
  const start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const ticks = start.slice(start.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(`${dir}.lock`, `${process.ppid} ${ticks}\n`);
  expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
});

it('a directory named through a symlink opens, and holds the same lock as its real path', async () => {
  const dir = freshDir();
  mkdirSync(dir, { recursive: true });
  const link = `${dir}-link`;
  symlinkSync(dir, link);
  const herald = await createDb({ dataDir: link, migrate: false });
  try {
    await expect(createDb({ dataDir: dir, migrate: false })).rejects.toBeInstanceOf(DataDirInUseError);
  } finally {
    await herald.close();
    rmSync(link, { force: true });
  }
}, 60_000);

it('a lock held by a process killed but not yet reaped by its parent (a zombie) is taken over', async () => {
  const dir = freshDir();
  // `sleep` becomes the holder's parent and never waits for it: killed, the holder stays a zombie.
  const parent = spawn('sh', ['-c', `"${process.execPath}" --import tsx "${holder}" "${dir}" & exec sleep 60`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      parent.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('open') && resolve());
      parent.on('exit', (code) => reject(new Error(`parent exited with ${code}`)));
    });
    const pid = Number(readFileSync(`${dir}.lock`, 'utf8').split(' ')[0]);
    process.kill(pid, 'SIGKILL');
    const state = () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    };
    for (let i = 0; i < 200 && state() !== 'Z'; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(state()).toBe('Z');
    const herald = await createDb({ dataDir: dir, migrate: false });
    await herald.close();
  } finally {
    parent.kill('SIGKILL');
  }
}, 60_000);

it('the data directory is its owner’s alone: made 0700, and closed to others when it was open', async () => {
  // PGlite writes its files 0666: only the directory keeps other local users from the WAL's secrets.
  const made = freshDir();
  const first = await createDb({ dataDir: made, migrate: false });
  await first.close();
  expect(statSync(made).mode & 0o777).toBe(0o700);

  const open = freshDir();
  mkdirSync(open, { mode: 0o755 });
  chmodSync(open, 0o755);
  const second = await createDb({ dataDir: open, migrate: false });
  await second.close();
  expect(statSync(open).mode & 0o777).toBe(0o700);
}, 60_000);
