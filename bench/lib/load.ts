import { Pool } from 'undici';
import { monoMs } from './stats';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  ok: number;
  errors: number;
  elapsedMs: number;
  rps: number;
  /** First unexpected status and body, to make a broken run obvious. */
  firstError: string | null;
}

/**
 * Closed-loop load: `concurrency` keep-alive connections, each sending the
 * next request as soon as the last is answered, for `durationMs`.
 */
export async function runLoad(
  origin: string,
  options: { concurrency: number; durationMs: number; request: (i: number) => LoadRequest },
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: options.concurrency, pipelining: 1 });
  let i = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = monoMs();
  const deadline = started + options.durationMs;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (monoMs() < deadline) {
        const req = options.request(i++);
        try {
          const res = await pool.request({ method: req.method, path: req.path, headers: req.headers, body: req.body });
          const text = await res.body.text();
          if (res.statusCode < 300) ok++;
          else {
            errors++;
            firstError ??= `${res.statusCode} ${text.slice(0, 300)}`;
          }
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  const elapsedMs = monoMs() - started;
  await pool.close();
  return { ok, errors, elapsedMs, rps: (ok * 1000) / elapsedMs, firstError };
}
