import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
const swaggerUiDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** Files served from the `swagger-ui-dist` npm package, by name. */
export const docsAssets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Herald API reference</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" />
  <link rel="stylesheet" href="/docs/swagger-ui.css" />
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

// `validatorUrl: null`: Swagger UI would otherwise load a badge from
// validator.swagger.io; the reference makes no third-party requests.
const init = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  validatorUrl: null,
});
`;

/** The API reference, rendered by Swagger UI served from the npm package: no CDN. */
export function createDocsRouter() {
  const docs = new Hono();
  const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  docs.get('/', (c) => c.html(page));
  docs.get('/init.js', (c) => c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  docs.get('/:asset', async (c) => {
    const name = c.req.param('asset');
    const type = docsAssets[name];
    if (!type) return c.notFound();
    let body = cache.get(name);
    if (!body) {
      body = readFile(path.join(swaggerUiDir, name));
      cache.set(name, body);
      body.catch(() => cache.delete(name));
    }
    return c.body(await body, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return docs;
}
