import { createColors } from 'picocolors';

/**
 * How a command speaks: `--json` prints one JSON document (or one per line for streams) and
 * nothing else on stdout; otherwise human lines, coloured and with a spinner only on a TTY
 * (and never with NO_COLOR), so pipes and logs get plain text.
 */
export interface Output {
  json: boolean;
  colors: ReturnType<typeof createColors>;
  /**
   * A JSON value (`--json`) or human lines. `human` gets `value` with every string made printable
   * (see `printable`): format from it, never from the server's raw data.
   */
  result<T>(value: T, human: (value: T) => string | string[]): void;
  /** One line of a stream: a JSON object per line with `--json`; `human` as for `result`. */
  line<T>(value: T, human: (value: T) => string): void;
  /** Progress for humans on a TTY; a no-op otherwise. Returns `stop`. */
  spinner(text: string): () => void;
  /** Notes for humans (stderr, so stdout stays the result), made printable. */
  note(text: string): void;
  /**
   * Something a user must know even with `--json` (a skipped event, a reconnect): on stderr, as a
   * `{"type":"warning","message":…}` line with `--json`, or a `!` line (made printable).
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
        const lines = human(printableValue(value));
        stdout.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
      }
    },
    line(value, human) {
      stdout.write(`${options.json ? JSON.stringify(value) : human(printableValue(value))}\n`);
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
      if (!options.json) stderr.write(`${printable(text)}\n`);
    },
    warn(text) {
      stderr.write(
        options.json
          ? `${JSON.stringify({ type: 'warning', message: text })}\n`
          : `${colors.yellow('!')} ${printable(text)}\n`,
      );
    },
  };
}

/**
 * Any value as text, never throwing: `String()` throws on an object whose `toString` is not a
 * function (`{"toString":1}` from a hostile server), which ended the whole command.
 */
export function asText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? '-';
  } catch {
    return '[unprintable]';
  }
}

/**
 * A table of rows as aligned columns (the first row is the header). Cells are whatever the API sent:
 * anything but a string is shown as text (`-` for none) rather than failing on it.
 */
export function table(rows: unknown[][]): string[] {
  const cells = rows.map((r) => r.map((cell) => (typeof cell === 'string' ? cell : cell == null ? '-' : asText(cell))));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/**
 * C0 and C1 control characters (ESC, BEL, CSI, line breaks, …): printed raw, a server's string could
 * clear the screen, retitle the window, hide or forge lines. Shown as `\u001b` instead. So are the
 * bidirectional marks, embeddings, overrides and isolates: they reorder what follows them on the
 * line, so a string could show an id or URL other than the one it holds.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` safe for a terminal: every control character as a visible `\uXXXX`. */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A copy of `value` with every string in it made printable, for the human formatters: they add their
 * own colours (escape sequences) around the server's strings, so the strings are cleaned before, not
 * the formatted line after. `--json` prints `value` itself (JSON.stringify escapes control characters).
 */
function printableValue<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return value.map(printableValue) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, printableValue(v)])) as T;
  }
  return value;
}
