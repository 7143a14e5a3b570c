import type { UserConfig } from 'tsdown';

/**
 * What every Herald build shares (`pnpm build`, one `tsdown.config.ts` per app and package):
 * ESM for Node 20 in `dist/`, named `.js`/`.d.ts` since every package is `"type": "module"`.
 * Dependencies, workspace packages included, stay imports: each package is built once, and
 * code that finds files next to itself (db migrations, argon2) keeps its own location.
 */
export function heraldBuild(config: UserConfig): UserConfig {
  return {
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    fixedExtension: false,
    // Declarations take most of a build's time; saying so on every build is noise.
    checks: { pluginTimings: false },
    ...config,
  };
}
