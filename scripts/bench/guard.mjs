#!/usr/bin/env node
// `sigil run` firewall cost: tools/call round trips through `sigil run` versus the same server
// spoken to directly, measured in the same run with the sessions interleaved so both see the same
// machine load. Latency: sequential calls, p50 and p99 of each round trip, and the p50/p99 added by
// the firewall. Throughput: calls kept 32 in flight, messages per second, and the ratio to direct.
// Two servers: the raw JSON fixture of the firewall tests (test/fixtures/guard/hostile-server.mjs,
// honest mode), nearly free per call, so its ratio is the proxy's whole cost; and a server built
// with @modelcontextprotocol/sdk 1.x, as servers are in practice. Goal (issue 9): added p99 under
// 1 ms, throughput at least 0.8x direct. A third path, a bare line relay (guard-relay.mjs), shows
// what one more process costs on this machine before any checking; and the CPU time per call of
// each process (Linux /proc, 10 ms ticks) shows each one's own cost, which machine load barely moves.
// Needs the workspaces built (scripts/bench/guard does it).
// Usage: node scripts/bench/guard.mjs [rounds, default 3] [calls per round, default 2000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeTool } from '@sigil/manifest';
import { buildHostWorld } from '@sigil/testing';

const rounds = Number(process.argv[2] ?? 3);
const calls = Number(process.argv[3] ?? 2000);
if (!(Number.isInteger(rounds) && rounds > 0 && rounds <= 50)) throw new Error('rounds: a whole number from 1 to 50');
if (!(Number.isInteger(calls) && calls >= 100 && calls <= 100_000)) throw new Error('calls per round: a whole number from 100 to 100000');
const WINDOW = 32;
const WARMUP = 1000;
// BENCH_SIGIL=<path to bin/sigil.js>: measure another build of the CLI (another checkout) the same way.
const sigil = process.env.BENCH_SIGIL ?? fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url));
const relay = fileURLToPath(new URL('./guard-relay.mjs', import.meta.url));
// BENCH_CPU_PROF=<dir>: write a V8 CPU profile of each `sigil run` process there (to find where its time goes).
const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-guard-'));

/** One MCP session over a child's stdio, with requests matched to answers by id. */
function session(command, args, cwd) {
  const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '' } });
  const waiting = new Map();
  let buffered = '';
  let seq = 0;
  child.stdout.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const m = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      const done = waiting.get(m.id);
      if (done) {
        waiting.delete(m.id);
        done(m);
      }
    }
  });
  const request = (method, params) =>
    new Promise((resolve) => {
      const id = ++seq;
      waiting.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  return {
    pid: child.pid,
    request,
    open: async () => {
      const init = await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
      if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    },
    close: () => new Promise((resolve) => {
      child.on('close', resolve);
      child.stdin.end();
    }),
  };
}

const call = (s, i) => s.request('tools/call', { name: 'echo', arguments: { message: `message ${i}` } });

async function latencies(s) {
  const out = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    const answer = await call(s, i);
    out[i] = performance.now() - t;
    if (!answer.result) throw new Error(`call failed: ${JSON.stringify(answer)}`);
  }
  return out.sort();
}

async function throughput(s, n = calls) {
  let next = 0;
  const t = performance.now();
  const lane = async () => {
    while (next < n) await call(s, next++);
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return n / ((performance.now() - t) / 1000);
}

/** CPU time (user + system, ms) of a process and of each of its descendants, from /proc (Linux); null elsewhere. */
function cpuTree(pid) {
  try {
    const stat = (p) => {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      return { ppid: Number(fields[1]), ms: (Number(fields[11]) + Number(fields[12])) * 10 };
    };
    const all = new Map();
    for (const d of readdirSync('/proc')) if (/^\d+$/.test(d)) try { all.set(Number(d), stat(d)); } catch { /* gone */ }
    const out = [all.get(pid)?.ms ?? 0];
    for (let p = pid; ; ) {
      const child = [...all].find(([, s]) => s.ppid === p)?.[0];
      if (child === undefined) return out;
      out.push(all.get(child).ms);
      p = child;
    }
  } catch {
    return null;
  }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(start) {
  const s = start();
  await s.open();
  // Warm up every path alike, in both patterns, so V8 has optimised the hot code of each process
  // (the proxy runs more of it than the server) before anything is timed: the goal is about steady
  // state, not about the first calls of a session. 200 sequential calls left tier-up inside the
  // timed window.
  for (let i = 0; i < WARMUP; i++) await call(s, i);
  await throughput(s, WARMUP);
  const lat = await latencies(s);
  const before = { tree: cpuTree(s.pid), host: process.cpuUsage() };
  const rate = await throughput(s);
  const after = { tree: cpuTree(s.pid), host: process.cpuUsage(before.host) };
  await s.close();
  // CPU per call in the throughput phase: the host (this process), then each process of the path.
  const cpu = before.tree && after.tree ? [(after.host.user + after.host.system) / calls, ...after.tree.map((ms, i) => (1000 * (ms - (before.tree[i] ?? 0))) / calls)] : null;
  return { p50: pct(lat, 50), p99: pct(lat, 99), rate, cpu };
}

const servers = [
  { label: 'raw JSON fixture server', name: 'io.github.acme/bench-raw', path: fileURLToPath(new URL('../../test/fixtures/guard/hostile-server.mjs', import.meta.url)) },
  { label: '@modelcontextprotocol/sdk 1.x server', name: 'io.github.acme/bench-sdk1', path: fileURLToPath(new URL('../../test/fixtures/guard/sdk1-server.mjs', import.meta.url)) },
];

/** The manifest a server's own tools/list gives, as `sigil manifest init` would pin it. */
async function pinOf(server) {
  const s = session(process.execPath, [server.path], work);
  await s.open();
  const listed = await s.request('tools/list', {});
  await s.close();
  return { name: server.name, description: 'Bench fixture server', version: '1.0.0', tools: listed.result.tools.map((t) => normalizeTool(t).tool) };
}

try {
  const world = await buildHostWorld(join(work, 'world'), await Promise.all(servers.map(pinOf)));
  console.log(`node ${process.version}; ${rounds} interleaved rounds of ${calls} sequential calls + ${calls} calls ${WINDOW} in flight; medians over rounds`);
  console.log('server                               | path      | p50 round trip | p99 round trip | calls/s');
  for (const server of servers) {
    const paths = {
      direct: () => session(process.execPath, [server.path], world.dir),
      relay: () => session(process.execPath, [relay, process.execPath, server.path], world.dir),
      'sigil run': () => session(process.execPath, [...profile, sigil, 'run', server.name, '--offline', '--', process.execPath, server.path], world.dir),
    };
    const names = Object.keys(paths);
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      // Rotate which goes first, so drift in machine load falls on every path alike.
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length];
        runs[name].push(await measure(paths[name]));
      }
    }
    const row = (xs) => ({ p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), rate: median(xs.map((x) => x.rate)) });
    const rows = Object.fromEntries(names.map((n) => [n, row(runs[n])]));
    for (const n of names) console.log(`${server.label.padEnd(36)} | ${n.padEnd(9)} | ${rows[n].p50.toFixed(3).padStart(10)} ms | ${rows[n].p99.toFixed(3).padStart(10)} ms | ${rows[n].rate.toFixed(0).padStart(7)}`);
    const cpuRow = (xs) => (xs.every((x) => x.cpu) ? xs[0].cpu.map((_, i) => median(xs.map((x) => x.cpu[i])).toFixed(0)).join(' / ') : 'n/a');
    console.log(`  CPU µs per call at full rate (host / each process of the path): ${names.map((n) => `${n} ${cpuRow(runs[n])}`).join('; ')}`);
    const added = (n) => ({ p50: rows[n].p50 - rows.direct.p50, p99: rows[n].p99 - rows.direct.p99, ratio: rows[n].rate / rows.direct.rate });
    const floor = added('relay');
    console.log(`  a bare relay process (no checks) adds: p50 ${floor.p50.toFixed(3)} ms, p99 ${floor.p99.toFixed(3)} ms; throughput ${floor.ratio.toFixed(2)}x direct`);
    const a = added('sigil run');
    console.log(`  added by the firewall: p50 ${a.p50.toFixed(3)} ms, p99 ${a.p99.toFixed(3)} ms (goal < 1 ms: ${a.p99 < 1 ? 'met' : 'NOT met'}); throughput ${a.ratio.toFixed(2)}x direct (goal >= 0.8x: ${a.ratio >= 0.8 ? 'met' : 'NOT met'})`);
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
