#!/usr/bin/env node
// The installed `herald` command: the built CLI (`pnpm build` writes dist/).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'herald: the CLI is not built yet: run `npx -y pnpm@10 build` (or use `pnpm --filter @herald/cli herald …`)\n',
  );
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
