#!/usr/bin/env node
// Two builds of `sigil run` compared where guard.mjs is too noisy to tell them apart: the CPU time
// per call of the proxy process itself (Linux schedstat, every thread), `tools/call` kept 32 in
// flight for a long steady state, the two builds alternated session by session so load drift falls
// on both. On this shared machine one guard.mjs round moves the proxy's CPU per call by ±20 %;
// medians over many alternated sessions show a change of a few per cent. Linux only.
// Needs the workspaces built. Usage:
//   node scripts/bench/guard-ab.mjs <other checkout's apps/cli/bin/sigil.js> [pairs, default 10] [calls, default 40000]
// BENCH_SERVER=sdk: the @modelcontextprotocol/sdk 1.x fixture server instead of the raw JSON one.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeTool } from '@sigil/manifest';
import { buildHostWorld } from '@sigil/testing';
import { cpuNs, session } from './lib/mcp-session.mjs';

const other = process.argv[2];
const pairs = Number(process.argv[3] ?? 10);
const calls = Number(process.argv[4] ?? 40_000);
if (!other) throw new Error('usage: guard-ab.mjs <other bin/sigil.js> [pairs] [calls]');
if (!(Number.isInteger(pairs) && pairs > 0 && pairs <= 100)) throw new Error('pairs: a whole number from 1 to 100');
if (!(Number.isInteger(calls) && calls >= 1000 && calls <= 1_000_000)) throw new Error('calls: a whole number from 1000 to 1000000');
const builds = { 'this checkout': fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url)), other };
const sdk = process.env.BENCH_SERVER === 'sdk';
const server = { name: sdk ? 'io.github.acme/bench-sdk1' : 'io.github.acme/bench-raw', path: fileURLToPath(new URL(`../../test/fixtures/guard/${sdk ? 'sdk1-server' : 'hostile-server'}.mjs`, import.meta.url)) };
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-guard-ab-'));

async function pipelined(s, n) {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const answer = await s.request('tools/call', { name: 'echo', arguments: { message: `message ${next++}` } });
      if (!answer.result) throw new Error(`call failed: ${JSON.stringify(answer)}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
}

/** CPU µs per call of the proxy process, after as many calls again of warm-up. */
async function measure(bin, dir) {
  const s = session(process.execPath, [bin, 'run', server.name, '--offline', '--', process.execPath, server.path], dir);
  await s.open();
  await pipelined(s, calls);
  const before = cpuNs(s.pid);
  await pipelined(s, calls);
  const us = (cpuNs(s.pid) - before) / 1000 / calls;
  await s.close();
  return us;
}

try {
  const pin = session(process.execPath, [server.path], work);
  await pin.open();
  const listed = await pin.request('tools/list', {});
  await pin.close();
  const world = await buildHostWorld(join(work, 'world'), [{ name: server.name, description: 'Bench fixture server', version: '1.0.0', tools: listed.result.tools.map((t) => normalizeTool(t).tool) }]);
  console.log(`node ${process.version}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${sdk ? 'SDK 1.x' : 'raw JSON'} server; ${pairs} alternated pairs of sessions, ${calls} calls 32 in flight after ${calls} of warm-up`);
  const names = Object.keys(builds);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let p = 0; p < pairs; p++) for (let k = 0; k < names.length; k++) {
    const name = names[(p + k) % names.length];
    runs[name].push(await measure(builds[name], world.dir));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const n of names) console.log(`${n.padEnd(14)} proxy CPU µs per call: median ${median(runs[n]).toFixed(2)}, min ${Math.min(...runs[n]).toFixed(2)} (${runs[n].map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`this checkout / other, medians: ${(median(runs[names[0]]) / median(runs[names[1]])).toFixed(2)}x`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
