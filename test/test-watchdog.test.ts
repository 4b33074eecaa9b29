import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@sigil/testing';
import { describe, expect, it } from 'vitest';

// The run's watchdog (watchdog-reporter.ts), on a run of its own over fixtures/stall: files that
// no test timeout can end (an endless loop, a synchronous wait on a child) fail the run within the
// stall limit, each named, and leave no process behind.
const root = repoRoot();
const fixture = join(root, 'test/fixtures/stall');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');

function runFixture(files: string[], stallSeconds: number | string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [vitest, 'run', ...files], {
    cwd: fixture,
    env: { ...process.env, SIGIL_TEST_STALL_SECONDS: String(stallSeconds), NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A group of its own, so that the fallback below ends the nested run's workers and their children too.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  // Ends the nested run should the watchdog not: the assertions then say so.
  const limit = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 50_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(limit);
    resolve({ code, stdout, stderr, ms: performance.now() - started });
  }));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

describe('the test run watchdog', () => {
  it('fails a run whose files never end, names each, and leaves no process behind', async () => {
    const run = await runFixture(['busy', 'sleeps'], 8);
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(45_000);
    expect(run.stderr).toMatch(/busy\.stall\.ts: queued \d+ s ago, last seen in /);
    expect(run.stderr).toMatch(/sleeps\.stall\.ts: queued \d+ s ago, last seen in /);
    const sleeper = /^ {2}(\d+) \d+ sleep 3600$/m.exec(run.stderr);
    expect(sleeper, run.stderr).not.toBeNull();
    // SIGKILL is delivered, and the orphan reaped, a moment after the watchdog sent it: on a loaded
    // machine the sleeper was still there when the run's own process had ended (a CI run of the
    // Node 24 lane). Gone within 5 s, or it was left behind.
    const pid = Number(sleeper![1]);
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(run.stdout).toMatch(/^tests: 0 passed, 2 failed, 0 skipped$/m);
  }, 60_000);

  it('counts the tests of the files that ended beside each file still running', async () => {
    const run = await runFixture(['quick', 'sleeps'], 8);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^tests: 1 passed, 1 failed, 0 skipped$/m);
  }, 60_000);

  it('stays silent on a run that ends', async () => {
    const run = await runFixture(['quick'], 30);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('watchdog');
  }, 60_000);

  it('refuses a stall limit that is not a positive number of seconds', async () => {
    for (const limit of ['', '0', 'ten']) {
      const run = await runFixture(['quick'], limit);
      expect(run.code).not.toBe(0);
      expect(run.stdout + run.stderr).toContain('SIGIL_TEST_STALL_SECONDS must be a positive number of seconds');
    }
  }, 60_000);
});
