import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// A host's seal key lives in the user's state folder (docs/resolver.md, "Sealed signature
// results"): the tests, and every sigil they start, keep theirs in a fresh folder of the run,
// never in the runner's own.
process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), 'sigil-test-state-'));

export default defineConfig({
  test: {
    // The *.postgres.config.ts projects run the registry's suites again on PostgreSQL.
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'test/vitest.config.ts', 'apps/registry/vitest.postgres.config.ts', 'test/vitest.postgres.config.ts'],
    // The watchdog fails a run in which a file stops moving (test/watchdog-reporter.ts), rather than
    // let it wait for ever.
    reporters: ['default', './test/summary-reporter.ts', './test/watchdog-reporter.ts'],
    // Vitest runs one file per core less one: a single file at a time on CI's 2 cores, which
    // leaves a core idle while that file waits on its child processes (sigil, registries, MCP
    // servers), PostgreSQL and timers. Most files spend most of their time so waiting: three files
    // at a time on 2 cores took the whole run from 404 s to 325 s on this machine (two full runs,
    // `npx vitest run --maxWorkers=2|3`), with every test passing. At least three; the default above.
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
