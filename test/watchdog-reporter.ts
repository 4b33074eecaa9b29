import { readdirSync, readFileSync } from 'node:fs';
import type { ReportedHookContext, Reporter, TestCase, TestModule } from 'vitest/node';
import { countModule, summaryLine, type TestCounts } from './summary-reporter.js';

/** How long one test file may run before the run is judged stalled (`SIGIL_TEST_STALL_SECONDS`). */
const STALL_MS = Number(process.env.SIGIL_TEST_STALL_SECONDS ?? 480) * 1000;

/**
 * Ends a run that has stopped moving. Vitest times out a test or a hook that never settles, but
 * not a test file whose worker never reports back (its JavaScript in an endless loop, a
 * synchronous call that never returns, or a worker lost between the pool and the file): once, CI
 * waited its whole 90 minutes on a file whose tests take a tenth of a second. When a file has run
 * for longer than {@link STALL_MS} (the slowest takes about a minute), this prints each file still
 * running with how long it has run and the test or hook its worker last reported starting (a
 * worker reports in batches, so one that never returns to its event loop may not have reported
 * the test it is stuck in), and every process below the runner with its command line (a child
 * that a synchronous call waits on shows there); then it stops those processes and fails the run
 * with the closing line test/summary-reporter.ts prints, each file still running counted as one
 * failure.
 */
export default class WatchdogReporter implements Reporter {
  /** Each running file: when it was queued, and the test or hook that started last in it. */
  private readonly running = new Map<string, { since: number; doing: string }>();
  /** The tests of the files that ended. */
  private readonly counts: TestCounts = { passed: 0, failed: 0, skipped: 0 };
  private timer: NodeJS.Timeout | undefined;

  onTestRunStart(): void {
    this.timer = setInterval(() => this.check(), Math.min(15_000, STALL_MS / 4));
    this.timer.unref();
  }

  onTestModuleQueued(module: TestModule): void {
    this.running.set(nameOf(module), { since: performance.now(), doing: 'its loading' });
  }

  onTestCaseReady(test: TestCase): void {
    this.doing(test.module, `test "${test.fullName}"`);
  }

  onHookStart(hook: ReportedHookContext): void {
    const entity = hook.entity;
    const module = entity.type === 'module' ? entity : entity.module;
    this.doing(module, `${hook.name} hook of ${entity.type === 'module' ? 'the file' : `"${entity.fullName}"`}`);
  }

  onTestModuleEnd(module: TestModule): void {
    this.running.delete(nameOf(module));
    countModule(module, this.counts);
  }

  onTestRunEnd(): void {
    clearInterval(this.timer);
  }

  private doing(module: TestModule, what: string): void {
    const entry = this.running.get(nameOf(module));
    if (entry) entry.doing = what;
  }

  private check(): void {
    const now = performance.now();
    if (![...this.running.values()].some((r) => now - r.since > STALL_MS)) return;
    clearInterval(this.timer);
    const out = [`\nwatchdog: a test file has run for more than ${STALL_MS / 1000} s; the files still running:`];
    for (const [name, r] of this.running) out.push(`  ${name}: ${Math.round((now - r.since) / 1000)} s, last seen in ${r.doing}`);
    const tree = descendants(process.pid);
    out.push('the processes below the runner (pid, parent pid, command):');
    for (const p of tree) out.push(`  ${p.pid} ${p.ppid} ${p.cmd.slice(0, 400)}`);
    out.push('watchdog: stopping them and failing the run');
    process.stderr.write(`${out.join('\n')}\n`);
    for (const p of tree.reverse()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // Each file still running counts as one failure, beside the tests of the files that ended.
    process.stdout.write(summaryLine({ ...this.counts, failed: this.counts.failed + this.running.size }));
    process.exit(1);
  }
}

const nameOf = (module: TestModule): string => `${module.project.name} ${module.moduleId}`;

interface Proc {
  pid: number;
  ppid: number;
  cmd: string;
}

/** Every process below `root`, each parent before its children (Linux /proc; none elsewhere). */
function descendants(root: number): Proc[] {
  const all: Proc[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // The fields after the command name, which is in parentheses and may hold anything: state, parent pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      all.push({ pid: Number(d), ppid, cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      // gone meanwhile
    }
  }
  const out: Proc[] = [];
  const walk = (pid: number): void => {
    for (const p of all) {
      if (p.ppid !== pid) continue;
      out.push(p);
      walk(p.pid);
    }
  };
  walk(root);
  return out;
}
