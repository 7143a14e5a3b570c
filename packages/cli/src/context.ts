import { type Command, InvalidArgumentError } from 'commander';
import { type Api, createApi } from './api';
import { type GlobalFlags, resolveConfig } from './config';
import { createOutput, type Output } from './output';

/** What every command runs with: the API (config resolved from flags, env, file) and the output. */
export interface CommandContext {
  api: Api;
  out: Output;
}

/** Global flags are read from the root program, wherever the command sits (`herald deliveries list`). */
export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals<GlobalFlags>();
}

export function outputFor(command: Command): Output {
  return createOutput({ json: Boolean(globalFlags(command).json) });
}

export function contextFor(command: Command): CommandContext {
  const flags = globalFlags(command);
  const out = outputFor(command);
  return { api: createApi(resolveConfig(flags, process.env, (text) => out.warn(text))), out };
}

/** `a,b,c` → ['a', 'b', 'c'] (empty entries dropped). */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A positive whole number option. InvalidArgumentError makes commander print it as the usage error it is
 * (`error: option '--limit <n>' argument '0' is invalid. …`, exit code 1), not as an unexpected failure.
 */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 1.`);
    }
    return n;
  };
}

/**
 * The longest delay Node's timers take: 2^31 − 1 ms, about 24.8 days. setTimeout runs a longer one
 * after 1 ms instead (with a warning), and AbortSignal.timeout takes whole milliseconds only.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration flag in whole milliseconds, 1 to MAX_TIMER_MS, as InvalidArgumentError otherwise (see positiveInt). */
export function timerMilliseconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_TIMER_MS) {
      throw new InvalidArgumentError(`${name} must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}.`);
    }
    return n;
  };
}

/**
 * A duration flag in seconds (fractions allowed) that becomes a timer: rounded to whole milliseconds,
 * 0.001 to MAX_TIMER_MS / 1000, as InvalidArgumentError otherwise (see positiveInt).
 */
export function timerSeconds(name: string) {
  return (value: string): number => {
    const ms = Math.round(Number(value) * 1000);
    if (value.trim() === '' || !Number.isFinite(ms) || ms < 1 || ms > MAX_TIMER_MS) {
      throw new InvalidArgumentError(
        `${name} must be a number of seconds from 0.001 to ${MAX_TIMER_MS / 1000} (whole milliseconds).`,
      );
    }
    return ms / 1000;
  };
}

/** A number of seconds ≥ 0 (fractions allowed), as InvalidArgumentError otherwise (see positiveInt). */
export function nonNegativeSeconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be a number of seconds ≥ 0.`);
    }
    return n;
  };
}
