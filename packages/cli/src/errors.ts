/**
 * What the API said was wrong with a request, bounded (see `apiError`): a validation error's issues
 * (`path` is dotted, `''` for the whole request), or another error's `{ name: value }` details.
 */
export type ErrorDetails = { path: string; message: string }[] | Record<string, string | number | boolean>;

/**
 * An error the user caused or can fix (wrong URL, wrong key, server away, bad input): printed as one
 * line, no stack, and the process exits with `exitCode` (never 0).
 */
export class CliError extends Error {
  constructor(
    message: string,
    /** Machine-readable, for `--json` output: `unauthorized`, `unreachable`, `not_herald`, … */
    readonly code: string,
    readonly exitCode = 1,
    /** The API's details, for `--json` output (the message says them in words already). */
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The one line printed for any failure: a CliError's message, or a short description of anything else. */
export function describeFailure(error: unknown): {
  code: string;
  message: string;
  exitCode: number;
  details?: ErrorDetails;
} {
  if (error instanceof CliError) {
    return {
      code: error.code,
      message: error.message,
      exitCode: error.exitCode,
      ...(error.details === undefined ? {} : { details: error.details }),
    };
  }
  if (error instanceof Error) {
    const firstLine = error.message.split('\n')[0] ?? '';
    return { code: 'internal_error', message: `unexpected error: ${firstLine || error.name}`, exitCode: 1 };
  }
  return { code: 'internal_error', message: `unexpected error: ${String(error)}`, exitCode: 1 };
}
