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
    .showHelpAfterError()
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
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    // Help, version and usage errors: commander has printed them already.
    if (error instanceof CommanderError) return error.exitCode;
    const failure = describeFailure(error instanceof InvalidArgumentError ? new Error(error.message) : error);
    if (argv.includes('--json')) {
      process.stderr.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message } })}\n`);
    } else {
      // The message may repeat the server's words (Herald's error message): printable, as all human output.
      process.stderr.write(`herald: ${printable(failure.message)}\n`);
    }
    return failure.exitCode;
  }
}

// Run directly (`node --import tsx src/main.ts`, the tests); the installed bin calls `run` itself.
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1]))
  process.exitCode = await run(process.argv);
