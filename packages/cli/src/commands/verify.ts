import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { verify } from '@herald/signing';
import type { Command } from 'commander';
import { nonNegativeSeconds, outputFor } from '../context';
import { CliError } from '../errors';
import { asText } from '../output';

interface VerifyOptions {
  secret?: string[];
  id?: string;
  timestamp?: string;
  signature?: string;
  headers?: string;
  tolerance?: number;
}

export function registerVerify(parent: Command) {
  parent
    .command('verify')
    .description('check a webhook’s Standard Webhooks signature: the raw body on stdin, the headers as flags or JSON')
    .option(
      '--secret <whsec...>',
      'the endpoint’s signing secret (repeat during a rotation; env HERALD_WEBHOOK_SECRET, space-separated, keeps it out of the process list)',
    )
    .option('--id <webhook-id>', 'the webhook-id header')
    .option('--timestamp <seconds>', 'the webhook-timestamp header')
    .option('--signature <v1,…>', 'the webhook-signature header')
    .option('--headers <json|@file>', 'all headers as a JSON object (or @path to a file holding one)')
    .option(
      '--tolerance <seconds>',
      'accepted clock difference (default 300; raise it for old payloads)',
      nonNegativeSeconds('--tolerance'),
    )
    .addHelpText(
      'after',
      '\nExample:\n  HERALD_WEBHOOK_SECRET=whsec_… herald verify --headers @headers.json < body.json',
    )
    .action(async (options: VerifyOptions, command: Command) => {
      const out = outputFor(command);
      const secrets = secretsOf(options);
      const headers = readHeaders(options);
      const body = await readStdin();
      const result = verify(body, headers, secrets, {
        ...(options.tolerance !== undefined ? { toleranceSeconds: options.tolerance } : {}),
      });
      if (!result.ok) {
        throw new CliError(`Signature invalid: ${result.error.message} (${result.error.code})`, result.error.code);
      }
      const { id, timestamp } = result.message;
      out.result(
        { valid: true, id, timestamp },
        (v) => `${out.colors.green('Signature valid')}: webhook-id ${v.id}, signed at ${signedAt(v.timestamp)}`,
      );
    });
}

/** `--secret` values, else `HERALD_WEBHOOK_SECRET` (one or more, separated by spaces). */
function secretsOf(options: VerifyOptions): string[] {
  if (options.secret?.length) return options.secret;
  const fromEnv = (process.env.HERALD_WEBHOOK_SECRET ?? '').split(/\s+/).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv;
  throw new CliError('No signing secret: set HERALD_WEBHOOK_SECRET (or pass --secret whsec_…)', 'missing_config');
}

/**
 * The signing time as a date, or as the raw seconds when no Date can hold it: a large --tolerance accepts
 * timestamps past the year 275760, where toISOString throws.
 */
function signedAt(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime())
    ? `${seconds} (unix seconds, beyond the dates JavaScript can show)`
    : date.toISOString();
}

function readHeaders(options: VerifyOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.headers !== undefined) {
    let text = options.headers;
    if (text.startsWith('@')) {
      try {
        // Relative to where the command was typed, also when pnpm runs it from the package (INIT_CWD).
        text = readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), text.slice(1)), 'utf8');
      } catch {
        throw new CliError(`Cannot read the headers file ${text.slice(1)}`, 'invalid_input');
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError('--headers must be a JSON object of header names to values', 'invalid_input');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CliError('--headers must be a JSON object of header names to values', 'invalid_input');
    }
    for (const [name, value] of Object.entries(parsed)) {
      headers[name.toLowerCase()] = typeof value === 'string' ? value : asText(value);
    }
  }
  if (options.id !== undefined) headers['webhook-id'] = options.id;
  if (options.timestamp !== undefined) headers['webhook-timestamp'] = options.timestamp;
  if (options.signature !== undefined) headers['webhook-signature'] = options.signature;
  return headers;
}

async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY)
    throw new CliError('Pipe the raw webhook body on stdin: herald verify … < body.json', 'invalid_input');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
