import { defineConfig } from 'tsdown';
import { heraldBuild } from '../../tsdown.base';

export default defineConfig(
  heraldBuild({
    entry: ['src/main.ts', 'src/index.ts'],
    // @herald/webhooks exports only its TypeScript source for now: until it builds a dist of
    // its own, its code (and zod, which it imports) goes into this app's bundle.
    deps: { alwaysBundle: [/^@herald\/webhooks(\/|$)/, 'zod'] },
  }),
);
