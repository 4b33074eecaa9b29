#!/usr/bin/env node
// `sigil run` firewall cost: tools/call round trips through `sigil run` versus the same server
// spoken to directly, measured in the same run with the sessions interleaved so both see the same
// machine load. Latency: sequential calls, p50 and p99 of each round trip, and the p50/p99 added by
// the firewall. Throughput: calls kept 32 in flight, messages per second, and the ratio to direct.
// Two servers: the raw JSON fixture of the firewall tests (test/fixtures/guard/hostile-server.mjs,
// honest mode), nearly free per call, so its ratio is the proxy's whole cost; and a server built
// with @modelcontextprotocol/sdk 1.x, as servers are in practice. Goal (issue 9): added p99 under
// 1 ms, throughput at least 0.8x direct.
// Needs the workspaces built (scripts/bench/guard does it).
// Usage: node scripts/bench/guard.mjs [rounds, default 3] [calls per round, default 2000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
const sigil = fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url));
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

async function throughput(s) {
  let next = 0;
  const t = performance.now();
  const lane = async () => {
    while (next < calls) await call(s, next++);
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return calls / ((performance.now() - t) / 1000);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(start) {
  const s = start();
  await s.open();
  for (let i = 0; i < 200; i++) await call(s, i); // warm up both paths alike
  const lat = await latencies(s);
  const rate = await throughput(s);
  await s.close();
  return { p50: pct(lat, 50), p99: pct(lat, 99), rate };
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
    const direct = () => session(process.execPath, [server.path], world.dir);
    const proxied = () => session(process.execPath, [sigil, 'run', server.name, '--offline', '--', process.execPath, server.path], world.dir);
    const d = [];
    const g = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so drift in machine load falls on both.
      if (r % 2 === 0) {
        d.push(await measure(direct));
        g.push(await measure(proxied));
      } else {
        g.push(await measure(proxied));
        d.push(await measure(direct));
      }
    }
    const row = (xs) => ({ p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), rate: median(xs.map((x) => x.rate)) });
    const a = row(d);
    const b = row(g);
    const line = (path, x) => console.log(`${server.label.padEnd(36)} | ${path.padEnd(9)} | ${x.p50.toFixed(3).padStart(10)} ms | ${x.p99.toFixed(3).padStart(10)} ms | ${x.rate.toFixed(0).padStart(7)}`);
    line('direct', a);
    line('sigil run', b);
    const addedP99 = b.p99 - a.p99;
    const ratio = b.rate / a.rate;
    console.log(`  added by the firewall: p50 ${(b.p50 - a.p50).toFixed(3)} ms, p99 ${addedP99.toFixed(3)} ms (goal < 1 ms: ${addedP99 < 1 ? 'met' : 'NOT met'}); throughput ${ratio.toFixed(2)}x direct (goal >= 0.8x: ${ratio >= 0.8 ? 'met' : 'NOT met'})`);
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
