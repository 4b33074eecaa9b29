#!/usr/bin/env node
// CPU per request of the point reads and POST /v1/status without the kernel: the registry's own listener (the read
// hot path in front of the Hono app, as main.ts builds it) and a bare node:http listener answering
// the same bytes, each driven in this process over an in-memory connection (no socket, no wrk),
// batches of 16 keep-alive requests at a time, alternating. On a shared machine the loopback
// bench (registry.mjs) measures mostly the scheduler; this measures what the registry's
// JavaScript adds per request, steadily enough to compare two builds (run it in each).
// Usage: node scripts/bench/reads-inproc.mjs [requests per round, default 60000] [rounds, default 3]
// (SIGIL_BENCH_ONLY=status runs the POST /v1/status row alone: batched, as hosts ask it.)
// The data (a published, approved version whose log entry a checkpoint covers, and a reader
// token) is made by the registry itself, started once here as registry.mjs starts it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, cpuPerRequest } from './lib/inproc-connection.mjs';
import { openRegistryListener } from './lib/inproc-registry.mjs';
import { NO_RATE_LIMITS, seedWeather, startRegistry } from './lib/registry-world.mjs';

const perRound = Number(process.argv[2] ?? 60_000);
const rounds = Number(process.argv[3] ?? 3);
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-inproc-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const limits = NO_RATE_LIMITS;

// 1. The data, written by the registry through its API.
const port = 20000 + Math.floor(Math.random() * 2000);
const { child: registry, base } = await startRegistry({ port, dataDir: join(work, 'data'), env: limits, stdio: ['ignore', 'ignore', 'ignore'] });
const { reader, versionPath } = await seedWeather(base);
registry.kill('SIGTERM');
await new Promise((r) => registry.once('exit', r));

// 2. The same data dir, opened here, with the listener main.ts builds.
const { listener: sigil, store } = await openRegistryListener(join(work, 'data'), limits);

// POST /v1/status as hosts ask it (batched, with a nonce), the body registry.mjs sends.
const statusBody = JSON.stringify({ refs: ['io.github.acme/weather@1.0.0'], nonce: 'YmVuY2gtbm9uY2UtMDAwMDAx', batch: true });
const request = (path) =>
  path === '/v1/status'
    ? Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${reader}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(statusBody)}\r\n\r\n${statusBody}`)
    : Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${reader}\r\n\r\n`);

/** CPU µs per request answering `count` requests for `path`, 16 in flight; every answer must be a 200. */
const measure = (listener, path, count) => cpuPerRequest(listener, request, path, count, 20_000);

/** The body the registry answers for `path`, for the bare listener to answer. */
async function bodyOf(path) {
  const chunks = [];
  const send = connect(sigil, (c) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
  send(request(path));
  for (let i = 0; i < 100 && !Buffer.concat(chunks).includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const text = Buffer.concat(chunks);
  return text.subarray(text.indexOf('\r\n\r\n') + 4);
}

console.log(`node ${process.version}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}; ${perRound} requests per round, ${rounds} rounds`);
console.log('read              | CPU µs/req sigil (each round) | bare node:http (each round) | bare/sigil');
// Rows to run: every row, or those whose label includes SIGIL_BENCH_ONLY (e.g. "status").
const only = process.env.SIGIL_BENCH_ONLY;
const rows = [['GET version', versionPath], ['GET server', '/v1/servers/io.github.acme/weather'], ['GET v0.1 latest', '/v0.1/servers/io.github.acme%2Fweather/versions/latest'], ['POST /v1/status', '/v1/status']];
for (const [label, path] of rows.filter(([label]) => !only || label.includes(only))) {
  const body = await bodyOf(path);
  const bare = (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  };
  const s = [];
  const b = [];
  for (let r = 0; r < rounds; r++) {
    s.push(await measure(sigil, path, perRound));
    b.push(await measure(bare, path, perRound));
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  console.log(`${label.padEnd(17)} | ${s.map((x) => x.toFixed(1)).join(', ').padEnd(29)} | ${b.map((x) => x.toFixed(1)).join(', ').padEnd(27)} | ${(median(b) / median(s)).toFixed(2)}`);
}
await store.close();
process.exit(0);
