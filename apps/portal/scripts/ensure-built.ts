import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This app's directory (the script lives in its scripts/). */
export const portalAppDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const portalDistDir = path.join(portalAppDir, 'dist');
/** Both drivers' runs of a file may get here at once: one builds, the other waits. */
const LOCK_DIR = path.join(tmpdir(), 'herald-portal-build.lock');
const LOCK_STALE_MS = 120_000;

function newestMtime(target: string): number {
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

function isStale(): boolean {
  const built = path.join(portalDistDir, 'index.html');
  if (!existsSync(built)) return true;
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => path.join(portalAppDir, p));
  return Math.max(...sources.map(newestMtime)) > statSync(built).mtimeMs;
}

/**
 * Builds the portal (`vite build` to apps/portal/dist) when dist is missing
 * or older than its sources, so the browser tests and `pnpm demo` never
 * depend on a manual build. Under a lock directory, so concurrent callers
 * (both drivers' test runs) build it once.
 */
export async function ensurePortalBuilt(): Promise<void> {
  if (!isStale()) return;
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      if (existsSync(LOCK_DIR) && Date.now() - statSync(LOCK_DIR).mtimeMs > LOCK_STALE_MS) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
      } else if (Date.now() > deadline) {
        throw new Error(`${LOCK_DIR} is held: another portal build did not finish`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    if (!isStale()) return;
    const vitePackage = createRequire(path.join(portalAppDir, 'package.json')).resolve('vite/package.json');
    const vite = path.join(path.dirname(vitePackage), 'bin/vite.js');
    execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: portalAppDir, stdio: 'pipe' });
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}
