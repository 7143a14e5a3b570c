import { defineConfig } from 'tsdown';
import { heraldBuild } from '../../tsdown.base';

// The `herald` command (bin/herald.js loads dist/main.js). Workspace packages are bundled in:
// @herald/client's code and the private @herald/signing, so plain `node` runs the build without
// the `@herald/dist` condition and an installed CLI needs no Herald source.
export default defineConfig(
  heraldBuild({
    entry: { main: 'src/main.ts' },
    deps: { alwaysBundle: [/^@herald\//] },
  }),
);
