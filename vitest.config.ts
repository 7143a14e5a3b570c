import { configDefaults, defineConfig } from 'vitest/config';

// Every `*.db.test.ts` file is one shared suite run twice: once on embedded
// PGlite, once on real PostgreSQL (as drizzle-orm's integration tests do).
// Everything else runs once in the `unit` project.
const dbTests = ['{apps,packages,tools}/*/test/**/*.db.test.ts', 'tests/*/**/*.db.test.ts'];
// Suites that bound latency under load (a login storm, a noisy neighbour): they run last, one file at
// a time, with nothing else on the machine's two cores.
const aloneTests = ['{apps,packages,tools}/*/test/**/*.alone.db.test.ts', 'tests/*/**/*.alone.db.test.ts'];

// A worker runs file after file in one module graph (`isolate: false`, set per project: a root one
// does not reach inline projects). Importing the workspace afresh for every file cost ~3 s a file,
// half the suite's time. So no test may rely on being first in its process: state a suite changes
// (the password pool, env, global dispatchers) it sets itself and puts back.
const shared = { isolate: false };
/**
 * A driver's two projects: its suites, then (after everything else: `groupOrder`, as a group's
 * projects run together) its `*.alone` suites, one file at a time.
 */
const onDatabase = (driver: 'pglite' | 'postgres', aloneGroup: number) => {
  const common = {
    env: { HERALD_TEST_DRIVER: driver },
    globalSetup: [`packages/db/src/testing/${driver}-global-setup.ts`],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  };
  return [
    {
      test: {
        ...shared,
        ...common,
        name: driver,
        include: dbTests,
        exclude: [...configDefaults.exclude, ...aloneTests],
      },
    },
    {
      test: {
        ...common,
        name: `${driver}-alone`,
        include: aloneTests,
        fileParallelism: false,
        sequence: { groupOrder: aloneGroup },
      },
    },
  ];
};

export default defineConfig({
  test: {
    // Vitest's default is one worker per core but one (2 cores → 1 file at a time). Most suites
    // wait on real HTTP, processes and PostgreSQL rather than the CPU, so two files at a time
    // cut the run by about a third on the 2-core CI machine.
    maxWorkers: 2,
    reporters: ['default', './vitest.summary-reporter.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['{apps,packages,tools}/*/test/**/*.test.ts', 'tests/*/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...dbTests],
          testTimeout: 30_000,
        },
      },
      ...onDatabase('pglite', 1),
      ...onDatabase('postgres', 2),
    ],
  },
});
