import { defineConfig } from 'tsdown';
import { heraldBuild } from '../../tsdown.base';

// `main` is what `pnpm start` runs; `index` is `@herald/api` for built code (the demo, tests use the source).
export default defineConfig(heraldBuild({ entry: ['src/main.ts', 'src/index.ts'] }));
