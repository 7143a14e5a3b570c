import { defineConfig } from 'tsdown';
import { heraldBuild } from '../../tsdown.base';

// The published consumer kit. @herald/events (the catalog) and @herald/signing are private
// workspace packages, so their code and types are bundled into dist: installing the kit needs
// no Herald source. zod stays a dependency; the frameworks stay optional peers (type imports only).
export default defineConfig(
  heraldBuild({
    entry: {
      index: 'src/index.ts',
      hono: 'src/hono.ts',
      express: 'src/express.ts',
      fastify: 'src/fastify.ts',
      web: 'src/web.ts',
    },
    // eager: the bundled packages lie outside this tsconfig, so their declarations are emitted from the whole program.
    dts: { eager: true },
    deps: { alwaysBundle: [/^@herald\/(events|signing)$/] },
  }),
);
