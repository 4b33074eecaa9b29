#!/usr/bin/env node
// Instructions per request of the point reads, counted by callgrind (valgrind), for the registry's
// own listener (the read hot path in front of the Hono app, as main.ts builds it) and a bare
// node:http listener answering the same bytes. On a shared machine CPU time and requests per
// second move with the neighbours; instruction counts do not, so two builds compare exactly.
// Each side runs in its own process under callgrind (node --single-threaded: the JIT and the
// collector on the counted thread), served over an in-memory connection as in reads-inproc.mjs
// (16 pipelined keep-alive GETs at a time): once with the warm-up only, once with `requests` more;
// the difference over `requests` is what one request costs, startup and warm-up left out.
// Usage: node scripts/bench/reads-callgrind.mjs [requests, default 8000] [warm-up, default 20000]
// (SIGIL_BENCH_ONLY=server runs the rows whose label includes it; SIGIL_BENCH_KEEP=dir keeps the
// callgrind files there, for callgrind_annotate.) Needs valgrind; several minutes per row.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, pipelined } from './lib/inproc-connection.mjs';
import { openRegistryListener } from './lib/inproc-registry.mjs';
import { NO_RATE_LIMITS, seedWeather, startRegistry } from './lib/registry-world.mjs';

const ROWS = [
  ['GET version', '/v1/servers/io.github.acme/weather/versions/1.0.0'],
  ['GET server', '/v1/servers/io.github.acme/weather'],
  ['GET v0.1 latest', '/v0.1/servers/io.github.acme%2Fweather/versions/latest'],
];

if (process.argv[2] === '--side') await serve(...process.argv.slice(3));
else await main(Number(process.argv[2] ?? 8000), Number(process.argv[3] ?? 20000));

async function main(requests, warmup) {
  const work = mkdtempSync(join(tmpdir(), 'sigil-bench-callgrind-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  const keep = process.env.SIGIL_BENCH_KEEP;
  if (keep) mkdirSync(keep, { recursive: true });
  const port = 20000 + Math.floor(Math.random() * 2000);
  const { child, base } = await startRegistry({ port, dataDir: join(work, 'data'), env: NO_RATE_LIMITS, stdio: ['ignore', 'ignore', 'ignore'] });
  const { reader } = await seedWeather(base);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  /** Instructions callgrind counted in one run of `side` answering `path` `count` times after the warm-up. */
  const counted = (side, path, count) =>
    new Promise((ok, fail) => {
      const out = join(keep ?? work, `${side}-${path.replace(/\W+/g, '_')}-${count}.callgrind`);
      const args = ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, '--single-threaded', fileURLToPath(import.meta.url), '--side', join(work, 'data'), reader, String(port), side, path, String(warmup), String(count)];
      execFile('valgrind', args, { maxBuffer: 1 << 26 }, (error, _stdout, stderr) => {
        const m = /Collected : (\d+)/.exec(stderr);
        if (error || !m) fail(new Error(`valgrind ${side} ${path}: ${error?.message ?? ''}\n${stderr.slice(-2000)}`));
        else ok(Number(m[1]));
      });
    });
  console.log(`node ${process.version}; callgrind; ${requests} requests after ${warmup} of warm-up; instructions per request`);
  console.log('read              | sigil     | bare node:http | bare/sigil');
  const only = process.env.SIGIL_BENCH_ONLY;
  for (const [label, path] of ROWS.filter(([label]) => !only || label.includes(only))) {
    // Two runs at a time: the machine's two cores.
    const [s0, s1] = await Promise.all([counted('sigil', path, 0), counted('sigil', path, requests)]);
    const [b0, b1] = await Promise.all([counted('bare', path, 0), counted('bare', path, requests)]);
    const sigil = (s1 - s0) / requests;
    const bare = (b1 - b0) / requests;
    console.log(`${label.padEnd(17)} | ${Math.round(sigil).toLocaleString('en').padEnd(9)} | ${Math.round(bare).toLocaleString('en').padEnd(14)} | ${(bare / sigil).toFixed(2)}`);
  }
}

/** One side under callgrind: the registry's listener on the seeded data dir (or a bare one with the bytes it answers), `warmup` then `count` requests. */
async function serve(dataDir, reader, port, side, path, warmup, count) {
  const { listener: sigil, store } = await openRegistryListener(dataDir, NO_RATE_LIMITS);
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${reader}\r\n\r\n`);
  // The bytes the registry answers, for the bare listener.
  const chunks = [];
  connect(sigil, (c) => chunks.push(Buffer.from(c)))(request);
  for (let i = 0; i < 200 && !Buffer.concat(chunks).includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  const answer = Buffer.concat(chunks);
  if (!answer.subarray(0, 12).equals(Buffer.from('HTTP/1.1 200'))) throw new Error(`${path}: ${answer.subarray(0, 120)}`);
  const body = answer.subarray(answer.indexOf('\r\n\r\n') + 4);
  const bare = (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  };
  const listener = side === 'bare' ? bare : sigil;
  const run = pipelined(listener, request, path);
  await run(Number(warmup));
  await run(Number(count));
  await store.close();
  process.exit(0);
}

