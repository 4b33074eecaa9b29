import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one plain closing line, "tests: N passed, N failed, N skipped", that CI tooling reads
 * whatever the test runner. Vitest's own summary stays above it.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    for (const module of testModules) countModule(module, counts);
    process.stdout.write(summaryLine(counts));
  }
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Adds one finished file's tests to `counts`. */
export function countModule(module: TestModule, counts: TestCounts): void {
  let testFailed = false;
  for (const test of module.children.allTests()) {
    const state = test.result().state;
    if (state === 'passed') counts.passed++;
    else if (state === 'failed') {
      counts.failed++;
      testFailed = true;
    } else counts.skipped++;
  }
  // A file that failed outside its tests (it did not load, or a beforeAll/afterAll hook threw,
  // which leaves its tests skipped) counts as one failure, never as 0 failed.
  if (module.state() === 'failed' && !testFailed) counts.failed++;
}

export const summaryLine = (c: TestCounts): string => `\ntests: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped\n`;
