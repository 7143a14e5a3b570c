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
  return { api: createApi(resolveConfig(flags)), out: outputFor(command) };
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

/** A number of seconds > 0 (fractions allowed), as InvalidArgumentError otherwise (see positiveInt). */
export function positiveSeconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${name} must be a number of seconds > 0.`);
    }
    return n;
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
