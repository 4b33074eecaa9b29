import { readdirSync, readFileSync } from 'node:fs';
import type { ReportedHookContext, Reporter, TestCase, TestModule } from 'vitest/node';
import { countModule, summaryLine, type TestCounts } from './summary-reporter.js';

/**
 * How long a run may go without any progress before it is judged stalled
 * (`SIGIL_TEST_STALL_SECONDS`, a positive number of seconds; 480 unless set).
 */
function stallMs(): number {
  const text = process.env.SIGIL_TEST_STALL_SECONDS;
  if (text === undefined) return 480_000;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) throw new Error(`SIGIL_TEST_STALL_SECONDS must be a positive number of seconds, not ${JSON.stringify(text)}`);
  return seconds * 1000;
}

/**
 * Ends a run that has stopped moving. Vitest times out a test or a hook that never settles, but
 * not a worker that never reports back (its JavaScript in an endless loop, a synchronous call that
 * never returns, a hang in its set-up or tear-down around the tests): once, CI waited its whole 90
 * minutes on a file whose tests take a tenth of a second. Every report of a worker is progress (a
 * file queued or ended, a test or hook started or ended); when none has come for the stall time
 * (the slowest file takes about a minute, each of its tests far less) and the run has not ended,
 * this prints each file queued and not ended with how long ago it was queued and the test or hook
 * its worker last reported starting (a worker reports in batches, so one that never returns to its
 * event loop may not have reported the test it is stuck in), and every process below the runner
 * with its command line (a child that a synchronous call waits on shows there); then it stops those
 * processes and fails the run with the closing line test/summary-reporter.ts prints, each file not
 * ended counted as one failure. A worker that crashed is no stall: Vitest reports it and goes on.
 */
export default class WatchdogReporter implements Reporter {
  private readonly stallMs = stallMs();
  /** Each file queued and not ended: when it was queued, and the test or hook that started last in it. */
  private readonly running = new Map<string, { since: number; doing: string }>();
  /** The tests of the files that ended. */
  private counts: TestCounts = { passed: 0, failed: 0, skipped: 0 };
  private lastProgress = 0;
  private timer: NodeJS.Timeout | undefined;

  onTestRunStart(): void {
    // A run of its own each time (watch mode runs again in the same process).
    this.running.clear();
    this.counts = { passed: 0, failed: 0, skipped: 0 };
    this.progress();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.check(), Math.min(15_000, this.stallMs / 4));
    this.timer.unref();
  }

  onTestModuleQueued(module: TestModule): void {
    this.progress();
    this.running.set(nameOf(module), { since: performance.now(), doing: 'its loading' });
  }

  onTestModuleCollected(): void {
    this.progress();
  }

  onTestCaseReady(test: TestCase): void {
    this.progress();
    this.doing(test.module, `test "${test.fullName}"`);
  }

  onTestCaseResult(): void {
    this.progress();
  }

  onHookStart(hook: ReportedHookContext): void {
    this.progress();
    const entity = hook.entity;
    const module = entity.type === 'module' ? entity : entity.module;
    this.doing(module, `${hook.name} hook of ${entity.type === 'module' ? 'the file' : `"${entity.fullName}"`}`);
  }

  onHookEnd(): void {
    this.progress();
  }

  onTestModuleEnd(module: TestModule): void {
    this.progress();
    this.running.delete(nameOf(module));
    countModule(module, this.counts);
  }

  onTestRunEnd(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private progress(): void {
    this.lastProgress = performance.now();
  }

  private doing(module: TestModule, what: string): void {
    const entry = this.running.get(nameOf(module));
    if (entry) entry.doing = what;
  }

  private check(): void {
    const now = performance.now();
    if (this.timer === undefined || now - this.lastProgress <= this.stallMs) return;
    clearInterval(this.timer);
    const out = [`\nwatchdog: no progress for ${Math.round((now - this.lastProgress) / 1000)} s (the limit is ${this.stallMs / 1000} s); the files not ended:`];
    for (const [name, r] of this.running) out.push(`  ${name}: queued ${Math.round((now - r.since) / 1000)} s ago, last seen in ${r.doing}`);
    // Stopped first, parents before children, so none starts another process meanwhile; then
    // looked up again (a child started between the two looks is below a stopped parent now), and killed.
    for (const p of descendants(process.pid)) signal(p.pid, 'SIGSTOP');
    const tree = descendants(process.pid);
    out.push('the processes below the runner (pid, parent pid, command):');
    for (const p of tree) out.push(`  ${p.pid} ${p.ppid} ${p.cmd.slice(0, 400)}`);
    out.push('watchdog: stopping them and failing the run');
    process.stderr.write(`${out.join('\n')}\n`);
    for (const p of tree) signal(p.pid, 'SIGKILL');
    // Each file not ended counts as one failure, beside the tests of the files that ended.
    process.stdout.write(summaryLine({ ...this.counts, failed: this.counts.failed + Math.max(1, this.running.size) }));
    process.exit(1);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
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
