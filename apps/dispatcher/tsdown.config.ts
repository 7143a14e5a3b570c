import { defineConfig } from 'tsdown';
import { heraldBuild } from '../../tsdown.base';

export default defineConfig(heraldBuild({ entry: ['src/main.ts', 'src/maintenance.ts'] }));
