import { fileURLToPath } from 'node:url';
import { defineConfig } from '@hey-api/openapi-ts';

/**
 * The REST SDK (`@herald/client/sdk`), generated from the committed OpenAPI
 * document by `pnpm generate`. `HERALD_SDK_OUTPUT` redirects the output
 * (the staleness test generates into a temp dir and compares).
 */
export default defineConfig({
  input: fileURLToPath(new URL('../../apps/api/openapi.json', import.meta.url)),
  output: {
    path: process.env.HERALD_SDK_OUTPUT ?? fileURLToPath(new URL('./src/sdk', import.meta.url)),
    tsConfigPath: fileURLToPath(new URL('./tsconfig.json', import.meta.url)),
    // Makes the bundled client type-check without the DOM lib (see the script).
    postProcess: [
      {
        name: 'patch-sdk',
        command: process.execPath,
        args: [fileURLToPath(new URL('./scripts/patch-sdk.mjs', import.meta.url)), '{{path}}'],
      },
    ],
  },
  // The listen stream is `herald listen`'s: the bundled SSE client never closes a stream the caller
  // leaves (the server keeps its deliveries leased) and retries a 401 or 404 for ever. The
  // document describes it; read it with an SSE reader (packages/cli/src/sse.ts does).
  parser: { filters: { operations: { exclude: ['GET /v1/endpoints/{id}/listen'] } } },
  // Errors go to the terminal, not to openapi-ts-error-*.log files in the repo.
  logs: { file: false },
  plugins: [
    '@hey-api/typescript',
    '@hey-api/sdk',
    {
      name: '@hey-api/client-fetch',
      // The client runtime is copied into the output: no runtime dependency.
      bundle: true,
      // `servers` says `/`; callers pass their own base URL.
      baseUrl: false,
      // The default `client` instance is exported from `@herald/client/sdk` too
      // (`createHeraldRestClient` in src/rest.ts makes configured ones).
      includeInEntry: true,
    },
  ],
});
