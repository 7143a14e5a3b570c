import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

/** Directories this process holds (a second open here would be a second PGlite on the same files). */
const held = new Set<string>();

/** A takeover guard older than this was left by a process that died while taking over. */
const STALE_GUARD_MS = 10_000;

/**
 * Takes `<dataDir>.lock` for this process, or throws when another live process (or another open
 * database of this one) holds it. Two PGlite instances on one directory each work on their own
 * copy in memory, and the last to close overwrites the other's writes: answered 201s vanished
 * without an error. A lock left by a process that died is taken over. Returns its release.
 *
 * The lock file names its process by pid and, on Linux, the process's start time, so a pid
 * reused by another process (a container restarted) does not keep the directory locked.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  if (held.has(lockPath)) throw new DataDirInUseError(dataDir, lockPath, process.pid);
  const mine = ownerLine(process.pid);
  if (!createWith(lockPath, mine)) {
    const found = readLock(lockPath);
    const owner = parseOwner(found);
    if (owner && owner.pid !== process.pid && ownerIsAlive(owner))
      throw new DataDirInUseError(dataDir, lockPath, owner.pid);
    takeOver(dataDir, lockPath, found, mine, owner?.pid ?? 0);
  }
  held.add(lockPath);
  return () => {
    if (!held.delete(lockPath)) return;
    try {
      if (readLock(lockPath) === mine) unlinkSync(lockPath);
    } catch {
      // Already gone.
    }
  };
}

/**
 * Replaces a stale lock whose text is `stale`, under a guard file only one process can create:
 * two processes that found the same stale lock never both take it (the second finds it changed).
 */
function takeOver(dataDir: string, lockPath: string, stale: string, mine: string, stalePid: number): void {
  const guard = `${lockPath}.takeover`;
  try {
    if (Date.now() - statSync(guard).mtimeMs > STALE_GUARD_MS) unlinkSync(guard);
  } catch {
    // No guard.
  }
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch {
    throw new DataDirInUseError(dataDir, lockPath, stalePid);
  }
  try {
    if (readLock(lockPath) !== stale)
      throw new DataDirInUseError(dataDir, lockPath, parseOwner(readLock(lockPath))?.pid ?? 0);
    unlinkSync(lockPath);
    if (!createWith(lockPath, mine)) throw new DataDirInUseError(dataDir, lockPath, 0);
  } finally {
    closeSync(fd);
    unlinkSync(guard);
  }
}

/** Creates `path` holding `text`, atomically (never seen empty); false when it exists. */
function createWith(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly lockPath: string,
    readonly ownerPid: number,
  ) {
    super(
      `The PGlite directory ${dataDir} is already open in process ${ownerPid}${ownerPid === process.pid ? ' (this one)' : ''}. ` +
        'Embedded PGlite is one process only: stop the other, or set DATABASE_URL to share PostgreSQL. ' +
        `If no such process runs, delete ${lockPath}.`,
    );
    this.name = 'DataDirInUseError';
  }
}

interface Owner {
  pid: number;
  /** The process's start time (Linux: clock ticks since boot), when it could be read. */
  start: string | undefined;
}

function ownerLine(pid: number): string {
  return `${pid} ${procStat(pid)?.start ?? ''}\n`;
}

function parseOwner(text: string): Owner | null {
  const [pid, start] = text.trim().split(/\s+/);
  const n = Number.parseInt(pid ?? '', 10);
  return Number.isInteger(n) && n > 0 ? { pid: n, start: start || undefined } : null;
}

function ownerIsAlive(owner: Owner): boolean {
  if (!processIsAlive(owner.pid)) return false;
  const stat = procStat(owner.pid);
  // Killed but not yet reaped by its parent (a zombie, state Z; X: being reaped): it holds nothing.
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return false;
  // The same pid, another process: the one that wrote the lock is gone.
  return owner.start === undefined || stat === undefined || stat.start === owner.start;
}

/**
 * Linux: `/proc/<pid>/stat`'s state (field 3) and start time (field 22), read after the command
 * in parentheses, which may hold spaces. Undefined elsewhere.
 */
function procStat(pid: number): { state: string; start: string | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] };
  } catch {
    return undefined;
  }
}

function readLock(lockPath: string): string {
  try {
    return readFileSync(lockPath, 'utf8');
  } catch {
    return '';
  }
}

/** Whether a process with this pid runs (EPERM: it does, under another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
