import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export interface StaticFile {
  body: Uint8Array;
  type: string;
  /** Vite's hashed assets never change under one name. */
  immutable: boolean;
}

/**
 * Where the built portal is: `HERALD_PORTAL_DIR`, else `apps/portal/dist`
 * beside this app (from `src/portal/` under tsx, from `dist/` when built).
 * A directory, not an import: apps never import each other.
 */
export function defaultPortalDir(): string {
  if (process.env.HERALD_PORTAL_DIR) return process.env.HERALD_PORTAL_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../../portal/dist'), path.resolve(here, '../../portal/dist')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates[0]!;
}

/**
 * The file under `dir` for a path below `/portal/`: an asset that exists,
 * or `index.html` for the portal's own pages (the app routes in the
 * browser). Null when the portal is not built. Never leaves `dir`.
 */
export function portalFile(dir: string, subPath: string): StaticFile | null {
  const root = path.resolve(dir);
  const wanted = path.resolve(root, `.${path.posix.normalize(`/${subPath}`)}`);
  const isAsset = wanted.startsWith(`${root}${path.sep}`) && /\.[a-z0-9]+$/i.test(wanted);
  if (isAsset) {
    if (!existsSync(wanted) || !statSync(wanted).isFile()) return null;
    return {
      body: readFileSync(wanted),
      type: TYPES[path.extname(wanted)] ?? 'application/octet-stream',
      // Vite's hashed output only: a name that stays the same across builds (index.html) cached for a
      // year would keep a browser on an old portal after an upgrade.
      immutable: wanted.startsWith(`${path.join(root, 'assets')}${path.sep}`),
    };
  }
  const index = path.join(root, 'index.html');
  if (!existsSync(index)) return null;
  return { body: readFileSync(index), type: TYPES['.html']!, immutable: false };
}
