import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { CliError } from './errors';

/** Where the CLI finds Herald, from the highest precedence down: flags, environment, config file. */
export interface CliConfig {
  apiUrl: string;
  apiKey: string;
  /** The longest one API request may take, answer read whole (not the listen stream: it has its own watchdog). */
  requestTimeoutMs: number;
}

export interface GlobalFlags {
  apiUrl?: string;
  apiKey?: string;
  json?: boolean;
  /** Seconds (`--request-timeout`), a whole number of milliseconds (see timerSeconds). */
  requestTimeout?: number;
}

/**
 * A request that has not finished in this long never will: the API answers in milliseconds, and a
 * server that accepts the connection and then trickles (or sends nothing) would otherwise hang the CLI.
 */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;

/**
 * `$XDG_CONFIG_HOME/herald/config.json`, or `~/.config/herald/config.json`. A relative
 * `XDG_CONFIG_HOME` is ignored, as the XDG Base Directory spec says: it would make the key's file
 * depend on the directory the command was typed in (a checkout someone else controls).
 */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'herald', 'config.json');
}

/**
 * Why a config file holding an API key should not be trusted as it is, if so: other users of the
 * machine can read it (ssh refuses a private key in that state; this warns, since the key is
 * already out). Not on Windows, whose files have no such mode bits.
 */
export function configFileExposure(path: string, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === 'win32') return null;
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return null;
  }
  if ((mode & 0o077) === 0) return null;
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `${path} holds an API key and other users can read it (mode ${octal}): run chmod 600 ${path}`;
}

function readConfigFile(path: string): Partial<CliConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON`, 'invalid_config');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(`${path} must hold a JSON object like {"apiUrl": "…", "apiKey": "sk_…"}`, 'invalid_config');
  }
  const { apiUrl, apiKey } = parsed as Record<string, unknown>;
  return {
    ...(typeof apiUrl === 'string' ? { apiUrl } : {}),
    ...(typeof apiKey === 'string' ? { apiKey } : {}),
  };
}

/**
 * The API URL and key for this run; a clear error when either is missing or the URL is not http(s).
 * `warn` hears of a key taken from a config file that other users can read.
 */
export function resolveConfig(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
  warn: (text: string) => void = () => {},
): CliConfig {
  const path = configFilePath(env);
  const file = readConfigFile(path);
  const apiUrl = flags.apiUrl ?? env.HERALD_API_URL ?? file.apiUrl;
  const apiKey = flags.apiKey ?? env.HERALD_API_KEY ?? file.apiKey;
  if (flags.apiKey === undefined && env.HERALD_API_KEY === undefined && file.apiKey !== undefined) {
    const exposure = configFileExposure(path);
    if (exposure) warn(exposure);
  }
  if (!apiUrl) {
    throw new CliError(
      `No API URL: pass --api-url, set HERALD_API_URL, or write "apiUrl" in ${path}`,
      'missing_config',
    );
  }
  if (!apiKey) {
    throw new CliError(
      `No API key: pass --api-key, set HERALD_API_KEY, or write "apiKey" in ${path}`,
      'missing_config',
    );
  }
  // Checked here, and never echoed: a key with a line break in it breaks the Authorization header, and the
  // error that raises repeats the header, key and all.
  if (!VISIBLE_ASCII.test(apiKey)) {
    throw new CliError(
      'Invalid API key: it may hold only visible ASCII characters (no spaces or line breaks); check --api-key / HERALD_API_KEY',
      'invalid_config',
    );
  }
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new CliError(
      `Invalid API URL "${withoutUserinfo(apiUrl)}": expected e.g. http://localhost:3000`,
      'invalid_url',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(
      `Invalid API URL "${withoutUserinfo(apiUrl)}": only http and https are supported`,
      'invalid_url',
    );
  }
  // The URL is in every error line; a password in it would be printed with them (and fetch refuses it anyway).
  if (url.username || url.password) {
    url.username = '';
    url.password = '';
    throw new CliError(
      `Invalid API URL "${url.href.replace(/\/+$/, '')}": remove the user name and password (the API key authenticates)`,
      'invalid_url',
    );
  }
  // Rounded again: seconds × 1000 in floating point can miss the whole number (1.001 × 1000 = 1000.9999…).
  const requestTimeoutMs = Math.round((flags.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000);
  return { apiUrl: apiBaseUrl(url), apiKey, requestTimeoutMs };
}

/**
 * The URL every route is appended to (`/v1/endpoints`): without trailing slashes, and without a final
 * `/v1`, which the routes carry already (`http://host/v1` would ask for `/v1/v1/endpoints`).
 */
function apiBaseUrl(url: URL): string {
  const href = url.href.replace(/\/+$/, '');
  return url.search || url.hash ? href : href.replace(/\/v1$/, '');
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * A URL text for an error line: whatever comes before an `@` may be a password. Everything between the
 * scheme and the last `@` goes, not just up to the first `/`, `?` or `#`: in a text the URL parser refused,
 * a password may hold those too (`http://admin:hunter2#x@localhost:3000`).
 */
export function withoutUserinfo(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  return `${scheme}…@${text.slice(at + 1)}`;
}
