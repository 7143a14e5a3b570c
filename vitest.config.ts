import { defineConfig } from 'vitest/config';

// Every `*.db.test.ts` file is one shared suite run twice: once on embedded
// PGlite, once on real PostgreSQL (as drizzle-orm's integration tests do).
// Everything else runs once in the `unit` project.
const dbTests = ['{apps,packages,tools}/*/test/**/*.db.test.ts', 'tests/*/**/*.db.test.ts'];

export default defineConfig({
  test: {
    // Vitest's default is one worker per core but one (2 cores → 1 file at a time). Most suites
    // wait on real HTTP, processes and PostgreSQL rather than the CPU, so two files at a time
    // cut the run by about a third on the 2-core CI machine.
    maxWorkers: 2,
    // Files stay isolated (a fresh module graph each). Without isolation (`isolate: false` in each
    // project: a root one does not reach inline projects) the suite ran 13 → 9.5 min, importing the
    // workspace once per worker instead of once per file (3 s), but timing-bound tests (an
    // idempotency race, a delivery waiting for a slot, a CLI child's deadline) failed in one CI run
    // of three: both workers stayed busy with tests, where imports used to leave gaps.
    reporters: ['default', './vitest.summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{apps,packages,tools}/*/test/**/*.test.ts', 'tests/*/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...dbTests],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'pglite',
          include: dbTests,
          env: { HERALD_TEST_DRIVER: 'pglite' },
          globalSetup: ['packages/db/src/testing/pglite-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'postgres',
          include: dbTests,
          env: { HERALD_TEST_DRIVER: 'postgres' },
          globalSetup: ['packages/db/src/testing/postgres-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
