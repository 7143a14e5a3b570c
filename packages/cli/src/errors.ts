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
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The one line printed for any failure: a CliError's message, or a short description of anything else. */
export function describeFailure(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof Error) {
    const firstLine = error.message.split('\n')[0] ?? '';
    return { code: 'internal_error', message: `unexpected error: ${firstLine || error.name}`, exitCode: 1 };
  }
  return { code: 'internal_error', message: `unexpected error: ${String(error)}`, exitCode: 1 };
}
