import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/** Directories this process holds (a second open here would be a second PGlite on the same files). */
const held = new Set<string>();

/**
 * Takes `<dataDir>.lock` for this process, or throws when another live process (or another open
 * database of this one) holds it. Two PGlite instances on one directory each work on their own
 * copy in memory, and the last to close overwrites the other's writes: answered 201s vanished
 * without an error. A lock left by a process that died is taken over. Returns its release.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  if (held.has(lockPath)) throw new DataDirInUseError(dataDir, lockPath, process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const owner = Number.parseInt(readLock(lockPath), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processIsAlive(owner)) {
        throw new DataDirInUseError(dataDir, lockPath, owner);
      }
      // Left by a process that is gone (or by this one's earlier life under the same pid): stale.
      unlinkSync(lockPath);
    }
  }
  held.add(lockPath);
  return () => {
    if (!held.delete(lockPath)) return;
    try {
      if (Number.parseInt(readLock(lockPath), 10) === process.pid) unlinkSync(lockPath);
    } catch {
      // Already gone.
    }
  };
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
