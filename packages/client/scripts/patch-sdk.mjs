// Post-processing step of `openapi-ts` (see openapi-ts.config.ts), run on the
// generated SDK folder given as the only argument.
//
// The bundled fetch client casts to the DOM type `BodyInit`, which is not a
// global under this repo's `lib: ["ES2023"]` + `@types/node`: every program
// that imports the SDK (packages/client, apps/api tests) would fail to
// type-check. `RequestInit['body']` is the same type (`BodyInit | null |
// undefined`) in both the DOM and the Node typings.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const root = process.argv[2];
if (!root) throw new Error('usage: node patch-sdk.mjs <generated sdk folder>');

const NO_RESPONSE = 'response: undefined as any,';

const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts')).sort();
for (const file of files) {
  const full = path.join(root, file);
  const source = await readFile(full, 'utf8');
  let patched = source
    .replace(/\bas BodyInit \| null \| undefined\b/g, "as RequestInit['body']")
    // The codes `createHeraldRestClient` gives answers the server never sent (src/rest.ts): the
    // error type must admit them, or comparing with them does not compile.
    .replace(
      /(export type ApiError = \{\s*error: \{\s*code: [^;]*'internal_error');/,
      "$1 | 'network_error' | 'invalid_response' | 'response_too_large';",
    );
  if (file.endsWith(path.join('client', 'client.gen.ts'))) {
    // A request that got no answer (`network_error`) returned `response: undefined` typed
    // `Response`, so `result.response.status` compiled and threw. It is now the standard
    // network-error response (`Response.error()`: status 0, type "error"), so the type holds.
    if (!patched.includes(NO_RESPONSE)) throw new Error(`${full}: the network-error result changed shape`);
    patched = patched.replace(NO_RESPONSE, 'response: Response.error(),');
  }
  if (/\bBodyInit\b/.test(patched)) throw new Error(`${full}: unpatched BodyInit reference`);
  if (patched !== source) await writeFile(full, patched);
}
