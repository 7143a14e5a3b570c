import { createColors } from 'picocolors';

/**
 * How a command speaks: `--json` prints one JSON document (or one per line for streams) and
 * nothing else on stdout; otherwise human lines, coloured and with a spinner only on a TTY
 * (and never with NO_COLOR), so pipes and logs get plain text.
 */
export interface Output {
  json: boolean;
  colors: ReturnType<typeof createColors>;
  /** A JSON value (`--json`) or human lines. */
  result(value: unknown, human: () => string | string[]): void;
  /** One line of a stream: a JSON object per line with `--json`. */
  line(value: unknown, human: () => string): void;
  /** Progress for humans on a TTY; a no-op otherwise. Returns `stop`. */
  spinner(text: string): () => void;
  /** Notes for humans (stderr, so stdout stays the result). */
  note(text: string): void;
  /**
   * Something a user must know even with `--json` (a skipped event, a reconnect): on stderr, as a
   * `{"type":"warning","message":…}` line with `--json`, or a `!` line.
   */
  warn(text: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function createOutput(options: {
  json: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const tty = Boolean(stdout.isTTY) && !process.env.NO_COLOR;
  const colors = createColors(tty && !options.json);
  return {
    json: options.json,
    colors,
    result(value, human) {
      if (options.json) stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else {
        const lines = human();
        stdout.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
      }
    },
    line(value, human) {
      stdout.write(`${options.json ? JSON.stringify(value) : human()}\n`);
    },
    spinner(text) {
      if (!tty || options.json || !stderr.isTTY) return () => {};
      let frame = 0;
      const timer = setInterval(() => {
        stderr.write(`\r${colors.cyan(FRAMES[frame++ % FRAMES.length]!)} ${text}`);
      }, 80);
      return () => {
        clearInterval(timer);
        stderr.write('\r\x1b[2K');
      };
    },
    note(text) {
      if (!options.json) stderr.write(`${text}\n`);
    },
    warn(text) {
      stderr.write(
        options.json ? `${JSON.stringify({ type: 'warning', message: text })}\n` : `${colors.yellow('!')} ${text}\n`,
      );
    },
  };
}

/** A table of rows as aligned columns (the first row is the header). */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}
