#!/usr/bin/env node
// Registry start-up: from spawning `sigil-registry` on SQLite with a fresh data folder (its first
// start: keys made, migrations applied, admin created) to its first answer on /healthz, and the
// CPU time the process spent by then (Linux /proc: every thread), beside `node -e 0` in the same
// run, interleaved so both see the same machine load. The test suites start a registry some
// hundred times per run, and an operator's restarts and rollouts wait on it.
// Needs the workspaces built (npm run build). Run it under each Node a deployment uses: on Node
// 22 and 24 every ES module of a package costs a read of its package.json (nodejs/node#58126), so
// the modules a start loads cost more there.
// BENCH_REGISTRY_B=<another checkout's apps/registry/bin/sigil-registry.js>: that build's start too,
// interleaved in the same runs, with the ratio of the two (a same-run A/B).
// Usage: node scripts/bench/registry-start.mjs [runs, default 7]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 7);
if (!(Number.isInteger(runs) && runs > 0 && runs <= 100)) throw new Error('runs: a whole number from 1 to 100');
const bin = fileURLToPath(new URL('../../apps/registry/bin/sigil-registry.js', import.meta.url));
const binB = process.env.BENCH_REGISTRY_B;
const TICK_MS = 1000 / 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** Milliseconds of CPU `pid` has used (user + system), or NaN where /proc is not there. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

async function registryStart(bin) {
  const work = mkdtempSync(join(tmpdir(), 'sigil-bench-start-'));
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const started = performance.now();
  const child = spawn(process.execPath, [bin], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), SIGIL_DATA_DIR: join(work, 'data'), SIGIL_BOOTSTRAP_TOKEN: 'bench-admin-token-0123456789abcdef', SIGIL_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  try {
    for (;;) {
      if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
      if (child.exitCode !== null || performance.now() - started > 60_000) throw new Error(`the registry did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return { wall: performance.now() - started, cpu: cpuMs(child.pid) };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    rmSync(work, { recursive: true, force: true });
  }
}

function nodeStart() {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['-e', '0']);
  if (r.status !== 0) throw new Error('node -e 0 failed');
  return performance.now() - started;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const starts = [];
const startsB = [];
const nodes = [];
// The file system's caches, once each.
await registryStart(bin);
if (binB) await registryStart(binB);
for (let i = 0; i < runs; i++) {
  nodes.push(nodeStart());
  starts.push(await registryStart(bin));
  if (binB) startsB.push(await registryStart(binB));
}
const bare = median(nodes);
const line = (name, xs) => {
  const wall = median(xs.map((s) => s.wall));
  const cpu = median(xs.map((s) => s.cpu));
  console.log(`${name}: first start to /healthz ${wall.toFixed(0)} ms wall (${(wall / bare).toFixed(1)}x node -e 0), ${Number.isNaN(cpu) ? '?' : cpu.toFixed(0)} ms CPU`);
  return wall;
};
console.log(`node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${runs} interleaved runs, medians; node -e 0: ${bare.toFixed(0)} ms`);
const a = line('this checkout', starts);
if (binB) console.log(`this checkout / B: ${(a / line(`B (${binB})`, startsB)).toFixed(2)}x`);
