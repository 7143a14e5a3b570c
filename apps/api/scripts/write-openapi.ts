/**
 * Writes `apps/api/openapi.json`, the committed OpenAPI document the REST SDK
 * (`@herald/client/sdk`) is generated from. Run through `pnpm generate`.
 *
 *   tsx scripts/write-openapi.ts [--check]
 *
 * `--check` writes nothing and exits 1 when the committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { serializeOpenApiDocument } from '../src/rest/openapi';

export const openApiPath = fileURLToPath(new URL('../openapi.json', import.meta.url));

async function main() {
  const fresh = serializeOpenApiDocument();
  if (process.argv.includes('--check')) {
    const committed = await readFile(openApiPath, 'utf8').catch(() => '');
    if (committed !== fresh) {
      console.error(`${openApiPath} is stale: run \`pnpm generate\``);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(openApiPath, fresh);
  console.log(`wrote ${openApiPath}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
