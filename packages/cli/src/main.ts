import { realpathSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { registerDeliveriesList } from './commands/deliveries-list';
import { registerDeliveriesRetry } from './commands/deliveries-retry';
import { registerEndpointsCreate } from './commands/endpoints-create';
import { registerEndpointsList } from './commands/endpoints-list';
import { registerEventsTail } from './commands/events-tail';
import { registerListen } from './commands/listen';
import { registerTrigger } from './commands/trigger';
import { registerVerify } from './commands/verify';
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from './config';
import { timerSeconds } from './context';
import { describeFailure } from './errors';
import { printable } from './output';

/** The `herald` program: global flags, then one file per command under ./commands. */
export function createProgram(): Command {
  const program = new Command('herald')
    .description('The Herald command line: forward webhooks to a local URL, trigger test events, inspect deliveries.')
    .version(packageJson.version)
    .option('--api-url <url>', 'Herald API URL (env HERALD_API_URL, or "apiUrl" in the config file)')
    .option(
      '--api-key <key>',
      'project API key, sk_… (env HERALD_API_KEY, or "apiKey" in the config file; prefer those: other users of the machine can see command-line arguments)',
    )
    .option('--json', 'print JSON instead of text (one object per line for streams)')
    .option(
      '--request-timeout <seconds>',
      `how long one API request may take, answer included (default ${DEFAULT_REQUEST_TIMEOUT_SECONDS})`,
      timerSeconds('--request-timeout'),
    )
    .exitOverride();
  registerListen(program);
  registerTrigger(program);
  const events = program.command('events').description('the project’s events');
  registerEventsTail(events);
  const deliveries = program.command('deliveries').description('webhook deliveries and their attempts');
  registerDeliveriesList(deliveries);
  registerDeliveriesRetry(deliveries);
  const endpoints = program.command('endpoints').description('webhook endpoints');
  registerEndpointsList(endpoints);
  registerEndpointsCreate(endpoints);
  registerVerify(program);
  for (const group of [events, deliveries, endpoints]) group.exitOverride();
  return program;
}

/** Runs the CLI; a failure is one line on stderr (JSON with --json) and a non-zero exit code, never a stack. */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  const json = argv.includes('--json');
  const usage = reportUsageErrors(program, json);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    // InvalidArgumentError is a CommanderError too, but commander reports only those its parsers throw.
    if (error instanceof CommanderError && !(error instanceof InvalidArgumentError)) {
      // Help and version (exit code 0), and, without --json, usage errors: commander has printed them.
      if (!json || error.exitCode === 0) return error.exitCode;
      const message = usageErrorMessage(error, usage.failedCommand());
      process.stderr.write(`${JSON.stringify({ error: { code: 'usage_error', message } })}\n`);
      return error.exitCode;
    }
    const failure = describeFailure(error instanceof InvalidArgumentError ? new Error(error.message) : error);
    if (json) {
      const { code, message, details } = failure;
      process.stderr.write(`${JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } })}\n`);
    } else {
      // The message may repeat the server's words (Herald's error message): printable, as all human output.
      process.stderr.write(`herald: ${printable(failure.message)}\n`);
    }
    return failure.exitCode;
  }
}

/**
 * How commander reports a usage error (an unknown command or option, a missing or invalid value), on
 * every command: without --json its one line and where to find the usage (`herald deliveries list
 * --help`), not the whole help; with --json nothing, for `run` to print the CLI's JSON error instead.
 * Returns the command whose usage was wrong, once commander has exited.
 */
function reportUsageErrors(program: Command, json: boolean): { failedCommand(): Command | undefined } {
  let failed: Command | undefined;
  const configure = (command: Command) => {
    command.exitOverride((error) => {
      failed ??= command;
      throw error;
    });
    if (json) {
      // Errors, and the help a command without its subcommand shows (`herald deliveries`), on stderr.
      command.configureOutput({ outputError: () => {}, writeErr: () => {} });
    } else {
      command.showHelpAfterError(`Run "${commandPath(command)} --help" for usage.`);
    }
    for (const sub of command.commands) configure(sub);
  };
  configure(program);
  return { failedCommand: () => failed };
}

/** `herald deliveries list`: the command's name and its parents'. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** A usage error's one line for --json: commander's message without its `error: ` prefix. */
function usageErrorMessage(error: CommanderError, command: Command | undefined): string {
  if (error.code === 'commander.help' && command) {
    const subcommands = command.commands.map((c) => c.name());
    return `${commandPath(command)} needs a command: ${subcommands.join(', ')} (see ${commandPath(command)} --help)`;
  }
  return error.message.replace(/^error: /, '');
}

// Run directly (`node --import tsx src/main.ts`, the tests); the installed bin calls `run` itself.
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1]))
  process.exitCode = await run(process.argv);
