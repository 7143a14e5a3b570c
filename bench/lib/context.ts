import type { Child } from './child';
import type { Spread } from './stats';

export interface Scale {
  rounds: number;
  /**
   * Deliveries per dispatch measurement: sized after the warm-up so one
   * Herald run takes about `dispatchSeconds`, within [min, max].
   */
  dispatchSeconds: number;
  dispatchMin: number;
  dispatchMax: number;
  /** The dispatcher's defaults: 64 in flight, claims of 32. */
  concurrency: number;
  batchSize: number;
  apiDurationMs: number;
  apiConcurrency: number;
  hashCount: number;
  latencyDurationMs: number;
  wakeupDurationMs: number;
  writers: number;
  growthRows: number;
  growthSeconds: number;
  /** Seconds of steady sending before the retention run: the window it is compared with is as long as the run. */
  retentionLeadSeconds: number;
  pollEvents: number;
  pollWindowMs: number;
}

export const fullScale: Scale = {
  rounds: 5,
  dispatchSeconds: 3,
  dispatchMin: 1000,
  dispatchMax: 20_000,
  concurrency: 64,
  batchSize: 64,
  apiDurationMs: 2500,
  apiConcurrency: 32,
  hashCount: 8,
  latencyDurationMs: 4000,
  wakeupDurationMs: 3000,
  writers: 8,
  growthRows: 10_000_000,
  growthSeconds: 2.5,
  retentionLeadSeconds: 10,
  pollEvents: 100,
  pollWindowMs: 20_000,
};

export const quickScale: Scale = {
  rounds: 2,
  dispatchSeconds: 1,
  dispatchMin: 300,
  dispatchMax: 2000,
  concurrency: 64,
  batchSize: 32,
  apiDurationMs: 1000,
  apiConcurrency: 32,
  hashCount: 2,
  latencyDurationMs: 1500,
  wakeupDurationMs: 1000,
  writers: 8,
  growthRows: 20_000,
  growthSeconds: 1,
  retentionLeadSeconds: 1,
  pollEvents: 20,
  pollWindowMs: 5000,
};

export interface BenchContext {
  scale: Scale;
  /** The benchmark whose Herald side runs under --cpu-prof, if any. */
  profile: string | null;
  receiver: Child;
  receiverUrl: string;
  /** Results later benchmarks build on (latency runs at half the dispatch rate). */
  shared: { heraldDispatchRate?: number };
  log(message: string): void;
}

export interface Goal {
  op: '>=' | '<=';
  value: number;
}

export interface Figure {
  id: string;
  name: string;
  /** Herald ÷ baseline per round; null for figures that are not ratios. */
  ratio: Spread | null;
  goal: Goal | null;
  /** Absolute numbers, printed beside the ratio. */
  absolute: string;
  /** Everything measured, for the JSON file. */
  detail: Record<string, unknown>;
}

/** How many deliveries make one run of about `seconds` at `rate`, within the scale's bounds. */
export function sizeFor(scale: Scale, rate: number, seconds: number): number {
  return Math.round(Math.min(scale.dispatchMax, Math.max(scale.dispatchMin, rate * seconds)) / 100) * 100;
}

export function meets(figure: Figure): boolean | null {
  if (!figure.ratio || !figure.goal) return null;
  const m = figure.ratio.median;
  return figure.goal.op === '>=' ? m >= figure.goal.value : m <= figure.goal.value;
}

/** The order of a round's two sides flips every round, so drift does not favour one. */
export function sides(round: number): Array<'herald' | 'bare'> {
  return round % 2 === 0 ? ['bare', 'herald'] : ['herald', 'bare'];
}
