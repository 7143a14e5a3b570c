import { readFileSync } from 'node:fs';
import type postgres from 'postgres';

/**
 * CPU time, which (unlike a rate) hardly moves when another process shares
 * the machine: this process's own, and that of the PostgreSQL backends
 * serving its pool (read from /proc: the bench runs PostgreSQL on this host).
 */
export interface CpuMark {
  processUs: number;
  backendUs: number;
  backends: number[];
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function backendUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND; // utime + stime
  } catch {
    return 0; // not on this host, or gone
  }
}

/** The backends of this database that `sql`'s pool has open (application_name `herald`). */
export async function poolBackends(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity
    where datname = current_database() and application_name = 'herald'`;
  return rows.map((r) => r.pid);
}

export function cpuMark(backends: number[]): CpuMark {
  const own = process.cpuUsage();
  return {
    processUs: own.user + own.system,
    backendUs: backends.reduce((sum, pid) => sum + backendUs(pid), 0),
    backends,
  };
}

/** CPU µs spent since `start`, by this process and by the same backends. */
export function cpuSince(start: CpuMark): { processUs: number; backendUs: number } {
  const now = cpuMark(start.backends);
  return { processUs: now.processUs - start.processUs, backendUs: now.backendUs - start.backendUs };
}

/** The whole machine's CPU time from /proc/stat, µs: busy (all but idle and iowait) and total, over every core. */
export interface MachineMark {
  busyUs: number;
  totalUs: number;
}

export function machineMark(): MachineMark {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal (guest time is inside user)
    const idle = ticks[3]! + ticks[4]!;
    return { busyUs: ((total - idle) * 1e6) / TICKS_PER_SECOND, totalUs: (total * 1e6) / TICKS_PER_SECOND };
  } catch {
    return { busyUs: Number.NaN, totalUs: Number.NaN };
  }
}

/** Since `start`: the machine's busy CPU µs and its busy share of all cores. */
export function machineSince(start: MachineMark): { busyUs: number; busyShare: number } {
  const now = machineMark();
  const busyUs = now.busyUs - start.busyUs;
  return { busyUs, busyShare: busyUs / (now.totalUs - start.totalUs) };
}
