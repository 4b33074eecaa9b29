#!/usr/bin/env node
// CPU per request of the listing and search reads without the kernel, at a chosen number of
// stored versions: the registry's own listener (as main.ts builds it) driven in this process over
// an in-memory connection (lib/inproc-connection.mjs), 16 keep-alive requests at a time. The
// loopback bench (registry.mjs) prints the p99s of these reads at 100 and 100,000 versions; on a
// shared machine this measures what one page costs the registry, steadily enough to compare two
// builds (run it in each), and `node --cpu-prof` on it shows where that goes. Under a heavy load
// count instructions instead (lists-callgrind.mjs, the same data and reads).
// Usage: node scripts/bench/lists-inproc.mjs [stored versions, default 100000] [requests per row, default 2000]
// (SIGIL_BENCH_ONLY=search runs the rows whose label includes it; SIGIL_BENCH_PER_SERVER=20 seeds
// 20 versions a server instead of 5, as registry.mjs's first scale case has them;
// SIGIL_BENCH_KEEP=1 keeps the data dir, its path printed at exit, for looking at statements on
// the seeded database.) The versions are seeded by lib/listing-world.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuPerRequest } from './lib/inproc-connection.mjs';
import { openRegistryListener } from './lib/inproc-registry.mjs';
import { LISTING_ROWS, seedListings } from './lib/listing-world.mjs';
import { NO_RATE_LIMITS } from './lib/registry-world.mjs';

const total = Number(process.argv[2] ?? 100_000);
const perRow = Number(process.argv[3] ?? 2000);
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-lists-'));
process.on('exit', () => (process.env.SIGIL_BENCH_KEEP ? console.log(`kept ${work}`) : rmSync(work, { recursive: true, force: true })));

// 1. The data.
const { dataDir, reader, port } = await seedListings(work, total, Number(process.env.SIGIL_BENCH_PER_SERVER ?? 5));

// 2. The same data dir, opened here, with the listener main.ts builds.
const { listener: sigil, store } = await openRegistryListener(dataDir, NO_RATE_LIMITS);
const request = (path) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${reader}\r\n\r\n`);

/** CPU µs per request answering `count` requests for `path`, 16 in flight; every answer must be a 200. */
const measure = (path, count) => cpuPerRequest(sigil, request, path, count, 320);

const only = process.env.SIGIL_BENCH_ONLY;
console.log(`node ${process.version}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}; ${total} versions stored; ${perRow} requests per row`);
console.log('read                       | CPU µs/req');
for (const [label, path] of LISTING_ROWS.filter(([label]) => !only || label.includes(only))) console.log(`${label.padEnd(26)} | ${(await measure(path, perRow)).toFixed(0)}`);
await store.close();
process.exit(0);
