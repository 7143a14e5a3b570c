import { defineConfig } from 'tsdown';
import { heraldBuild } from '../../tsdown.base';

// The published package. Its declarations must stand alone: `src/app-router.ts` gives them
// the router's procedures without the server's types, and the few types they still name
// from packages that are not dependencies (zod's `JSONType`) are inlined by the bundler.
export default defineConfig(
  heraldBuild({
    entry: { index: 'src/index.ts', sdk: 'src/sdk/index.ts' },
    dts: true,
    // Only zod's `JSONType` may be inlined (into the declarations; the JavaScript has no zod).
    deps: { onlyBundle: ['zod'] },
  }),
);
