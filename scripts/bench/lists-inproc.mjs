#!/usr/bin/env node
// CPU per request of the listing and search reads without the kernel, at a chosen number of
// stored versions: the registry's own listener (as main.ts builds it) driven in this process over
// an in-memory connection (lib/inproc-connection.mjs), 16 keep-alive requests at a time. The
// loopback bench (registry.mjs) prints the p99s of these reads at 100 and 100,000 versions; on a
// shared machine this measures what one page costs the registry, steadily enough to compare two
// builds (run it in each), and `node --cpu-prof` on it shows where that goes.
// Usage: node scripts/bench/lists-inproc.mjs [stored versions, default 100000] [requests per row, default 2000]
// (SIGIL_BENCH_ONLY=search runs the rows whose label includes it; SIGIL_BENCH_KEEP=1 keeps the data
// dir, its path printed at exit, for looking at statements on the seeded database.)
// The versions are seeded as registry.mjs seeds them (the real version's texts under other names,
// 5 versions per server, every fifth pending).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cpuPerRequest } from './lib/inproc-connection.mjs';
import { openRegistryListener } from './lib/inproc-registry.mjs';
import { NO_RATE_LIMITS, seedWeather, startRegistry } from './lib/registry-world.mjs';

const total = Number(process.argv[2] ?? 100_000);
const perRow = Number(process.argv[3] ?? 2000);
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-lists-'));
process.on('exit', () => (process.env.SIGIL_BENCH_KEEP ? console.log(`kept ${work}`) : rmSync(work, { recursive: true, force: true })));

// 1. The data: one approved version written by the registry through its API, then the seeded rows.
const port = 22000 + Math.floor(Math.random() * 2000);
const { child: registry, base } = await startRegistry({ port, dataDir: join(work, 'data'), env: NO_RATE_LIMITS, stdio: ['ignore', 'ignore', 'ignore'] });
const { reader } = await seedWeather(base);
registry.kill('SIGTERM');
await new Promise((r) => registry.once('exit', r));
const seedDb = new Database(join(work, 'data', 'registry.db'));
const model = seedDb.prepare("SELECT * FROM versions WHERE server = 'io.github.acme/weather' AND version = '1.0.0'").get();
const addServer = seedDb.prepare('INSERT INTO servers (name, namespace, owner, created_at) VALUES (?, ?, ?, ?)');
const addVersion = seedDb.prepare(
  'INSERT INTO versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, findings, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
seedDb.transaction(() => {
  for (let i = 0; i < total - 1; i++) {
    const server = `io.github.seed${Math.floor(i / 5000)}/server-${String(Math.floor(i / 5)).padStart(6, '0')}`;
    if (i % 5 === 0) addServer.run(server, server.split('/')[0], 'seed', model.published_at);
    addVersion.run(server, `1.0.${i % 5}`, `sha256:${createHash('sha256').update(server + i).digest('hex')}`, model.tools_digest, model.manifest, model.bundle, model.signer_kind, model.signer_fingerprint, 'seed', i % 5 === 4 ? 'pending' : 'approved', 'low', '[]', model.published_at);
  }
})();
seedDb.pragma('wal_checkpoint(TRUNCATE)');
seedDb.close();

// 2. The same data dir, opened here, with the listener main.ts builds.
const { listener: sigil, store } = await openRegistryListener(join(work, 'data'), NO_RATE_LIMITS);
const request = (path) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${reader}\r\n\r\n`);

/** CPU µs per request answering `count` requests for `path`, 16 in flight; every answer must be a 200. */
const measure = (path, count) => cpuPerRequest(sigil, request, path, count, 320);

const rows = [
  ['GET version', '/v1/servers/io.github.acme/weather/versions/1.0.0'],
  ['list servers (page of 30)', '/v1/servers?limit=30'],
  ['list servers, later page', `/v1/servers?limit=30&cursor=${Buffer.from('io.github.seed9/server-004000').toString('base64url')}`],
  ['search servers', '/v1/servers?search=server-0123&limit=30'],
  ['search, no match', '/v1/servers?search=nothing-here&limit=30'],
  ['v0.1 list (latest)', '/v0.1/servers?version=latest&limit=30'],
  ['v0.1 list (all)', '/v0.1/servers?limit=30'],
  ['v0.1 search (latest)', '/v0.1/servers?version=latest&search=server-0123&limit=30'],
];
const only = process.env.SIGIL_BENCH_ONLY;
console.log(`node ${process.version}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}; ${total} versions stored; ${perRow} requests per row`);
console.log('read                       | CPU µs/req');
for (const [label, path] of rows.filter(([label]) => !only || label.includes(only))) console.log(`${label.padEnd(26)} | ${(await measure(path, perRow)).toFixed(0)}`);
await store.close();
process.exit(0);
