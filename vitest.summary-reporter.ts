import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * One plain closing line, `Tests: N passed, N failed, N skipped`, that any
 * CI can read whatever Vitest's own summary looks like.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: 'passed' | 'failed' | 'interrupted',
  ) {
    // Unhandled errors count as failures.
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load has no tests, but it did fail.
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) counts.failed += 1;
    }
    // A run that failed outside any test (a global setup that threw) still says so.
    if (reason !== 'passed' && counts.failed === 0) counts.failed = 1;
    process.stdout.write(`\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
