#!/usr/bin/env node
// Instructions per tools/call round trip of the middle process of a path (`sigil run`, or the bare
// relay), counted by valgrind's callgrind: user-space instructions, JIT code included, so unlike
// CPU time neither machine load nor the other agents on a shared machine move it. Each session
// first makes `warm-up` calls (32 in flight unless BENCH_WINDOW says otherwise) (V8 optimises the hot path within a few thousand), then
// the counters are zeroed, `calls` more are made, and the counters dumped: the count over the calls
// is the process's cost per call in the steady state, framing, checks, JSON work and the system
// call wrappers, not the kernel's side of the pipes. Linux with valgrind only; slow (about 50x).
// Needs the workspaces built.
// Usage: node scripts/bench/guard-callgrind.mjs [calls, default 4000] [warm-up calls, default 8000]
// BENCH_SERVER=sdk: the @modelcontextprotocol/sdk 1.x fixture server instead of the raw JSON one.
// BENCH_SIGIL=<path to bin/sigil.js>: count another build as well, as a third path.
// BENCH_WINDOW=<n>: calls in flight (default 32; 1 for sequential calls, one message per read).
// BENCH_TOP=1: also print the twenty functions with the most instructions of their own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeTool } from '@sigil/manifest';
import { buildHostWorld } from '@sigil/testing';
import { session } from './lib/mcp-session.mjs';

const calls = Number(process.argv[2] ?? 4000);
const warmup = Number(process.argv[3] ?? 8000);
if (!(Number.isInteger(calls) && calls >= 100 && calls <= 1_000_000)) throw new Error('calls: a whole number from 100 to 1000000');
if (!(Number.isInteger(warmup) && warmup >= 0 && warmup <= 1_000_000)) throw new Error('warm-up calls: a whole number from 0 to 1000000');
const window = Number(process.env.BENCH_WINDOW ?? 32);
if (!(Number.isInteger(window) && window >= 1 && window <= 1024)) throw new Error('BENCH_WINDOW: a whole number from 1 to 1024');
const sdk = process.env.BENCH_SERVER === 'sdk';
const server = { name: sdk ? 'io.github.acme/bench-sdk1' : 'io.github.acme/bench-raw', path: fileURLToPath(new URL(`../../test/fixtures/guard/${sdk ? 'sdk1-server' : 'hostile-server'}.mjs`, import.meta.url)) };
const sigil = fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url));
const relay = fileURLToPath(new URL('./guard-relay.mjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-guard-cg-'));

async function pipelined(s, n) {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const answer = await s.request('tools/call', { name: 'echo', arguments: { message: `message ${next++}` } });
      if (!answer.result) throw new Error(`call failed: ${JSON.stringify(answer)}`);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

/** Instructions per call of the path's middle process, and the ten costliest functions. */
async function count(label, args, dir) {
  const out = join(work, `${label.replaceAll(/\W/g, '-')}.out`);
  const s = session('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, ...args], dir);
  await s.open();
  await pipelined(s, warmup);
  execFileSync('callgrind_control', ['--zero', String(s.pid)], { stdio: 'ignore' });
  await pipelined(s, calls);
  execFileSync('callgrind_control', ['--dump', String(s.pid)], { stdio: 'ignore' });
  await s.close();
  const dumps = readdirSync(work).filter((f) => f.startsWith(`${label.replaceAll(/\W/g, '-')}.out.`)).sort();
  const dump = join(work, dumps[0]);
  const total = Number(/^summary: (\d+)/m.exec(readFileSync(dump, 'utf8'))?.[1] ?? /^totals: (\d+)/m.exec(readFileSync(dump, 'utf8'))?.[1]);
  // Self cost (the dump's call tree would put the event loop's callers first).
  const top = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', dump], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((l) => /^\s*[\d,]+ \(/.test(l) && !/PROGRAM TOTALS|libc-start|below main|ld-linux|[?]{3}:(main|node::|v8::internal::Execution::Call)|start_thread|clone/.test(l))
    .slice(0, 20);
  return { perCall: total / calls, top };
}

try {
  const pin = session(process.execPath, [server.path], work);
  await pin.open();
  const listed = await pin.request('tools/list', {});
  await pin.close();
  const world = await buildHostWorld(join(work, 'world'), [{ name: server.name, description: 'Bench fixture server', version: '1.0.0', tools: listed.result.tools.map((t) => normalizeTool(t).tool) }]);
  const paths = { relay: [relay, process.execPath, server.path], 'sigil run': [sigil, 'run', server.name, '--offline', '--', process.execPath, server.path] };
  if (process.env.BENCH_SIGIL) paths['other sigil run'] = [process.env.BENCH_SIGIL, 'run', server.name, '--offline', '--', process.execPath, server.path];
  console.log(`node ${process.version}; ${sdk ? 'SDK 1.x' : 'raw JSON'} server; ${calls} calls ${window} in flight after ${warmup} of warm-up; instructions of the middle process (callgrind)`);
  for (const [label, args] of Object.entries(paths)) {
    const { perCall, top } = await count(label, args, world.dir);
    console.log(`${label.padEnd(15)} ${Math.round(perCall).toLocaleString('en').padStart(9)} instructions per call`);
    if (process.env.BENCH_TOP) for (const line of top) console.log(`    ${line.trim().slice(0, 150)}`);
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
