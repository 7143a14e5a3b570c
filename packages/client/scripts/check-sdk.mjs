// Fails (exit 1) when the committed REST SDK in src/sdk is not what
// `openapi-ts` generates from the committed apps/api/openapi.json: it
// generates into a temp dir with the same config and compares every file.
// Run by apps/api/test/openapi.test.ts, so CI fails on a stale SDK.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const committedDir = path.join(packageDir, 'src/sdk');
const require = createRequire(import.meta.url);
const cli = path.join(path.dirname(require.resolve('@hey-api/openapi-ts/package.json')), 'bin/run.js');

async function listFiles(dir) {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
      .sort();
  } catch {
    return [];
  }
}

const freshDir = await mkdtemp(path.join(tmpdir(), 'herald-sdk-'));
try {
  execFileSync(process.execPath, [cli], {
    cwd: packageDir,
    env: { ...process.env, HERALD_SDK_OUTPUT: freshDir, NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [fresh, committed] = await Promise.all([listFiles(freshDir), listFiles(committedDir)]);
  const problems = [];
  for (const file of fresh) {
    if (!committed.includes(file)) problems.push(`missing: src/sdk/${file}`);
    else if (
      (await readFile(path.join(freshDir, file), 'utf8')) !== (await readFile(path.join(committedDir, file), 'utf8'))
    ) {
      problems.push(`differs: src/sdk/${file}`);
    }
  }
  for (const file of committed) if (!fresh.includes(file)) problems.push(`extra: src/sdk/${file}`);
  if (problems.length > 0) {
    console.error(`The committed REST SDK is stale; run \`pnpm generate\`.\n${problems.join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`src/sdk is up to date (${fresh.length} files)`);
  }
} finally {
  await rm(freshDir, { recursive: true, force: true });
}
