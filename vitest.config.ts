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
    // Each project (below) runs without isolation (a root `isolate` does not reach inline projects):
    // files share their worker's modules (no fresh module graph per file): importing the workspace's
    // TypeScript again for each of ~240 files was half the suite's time (3 s a file; 13 → 9.5 min).
    // So a file must not count on being first in its process: state a test sets up on a module
    // (the password pool, the process's fetch dispatcher, env read once) it sets explicitly.
    reporters: ['default', './vitest.summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          isolate: false,
          include: ['{apps,packages,tools}/*/test/**/*.test.ts', 'tests/*/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...dbTests],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'pglite',
          isolate: false,
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
          isolate: false,
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
