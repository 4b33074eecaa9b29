#!/usr/bin/env node
// Requests per second and p99 latency over loopback, measured with wrk (a load generator that
// does not compete with the server for JavaScript time), for:
//   GET  /v1/servers/{ns}/{name}/versions/{v}   (reading a version: one version asked again and again)
//   the same over 200 distinct versions          (each request the next of 200 approved versions of 10 servers, as a population of hosts asks)
//   GET  /v1/servers/{ns}/{name}                (a server and its versions)
//   GET  /v0.1/servers/{name}/versions/latest    (the official MCP registry read API)
//   POST /v1/status                             (a fresh status statement per request, batched as hosts ask: one signature per batch)
//   POST /v1/status without batch               (the same, signed on its own)
// each beside a bare node:http server returning the same bytes in the same run, and publishes
// per second (concurrent signed publishes through the full pipeline). Prints the ratios.
// Usage: node scripts/bench/registry.mjs [seconds per wrk run, default 8] [connections, default 32] [--postgres] [--reads]
// --reads: the reads' table only (no publishes, no scale runs), for comparing builds back to back.
// --postgres: the registry on PostgreSQL (SIGIL_DATABASE_URL), in a fresh database on the test
// server (SIGIL_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres) created
// here and dropped at exit; the seeding below runs the same rows as SQL there.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signManifestStatement } from '@sigil/signing/sign';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTestDatabase, TEST_POSTGRES_URL } from '@sigil/testing';
import { NO_RATE_LIMITS, seedDistinct, seedWeather, startRegistry } from './lib/registry-world.mjs';

const postgres = process.argv.includes('--postgres');
const readsOnly = process.argv.includes('--reads');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const seconds = Number(args[0] ?? 8);
const connections = Number(args[1] ?? 32);
const pgdb = postgres ? await createTestDatabase('sigil_bench_registry') : undefined;
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-registry-'));
const port = 18000 + Math.floor(Math.random() * 2000);
const base = `http://127.0.0.1:${port}`;

// On PostgreSQL no instance makes keys (docs/deploy.md, "Keys"): made once, as an operator would.
if (pgdb) execFileSync(process.execPath, ['apps/registry/bin/sigil-registry.js', 'keys', 'init', join(work, 'data', 'keys')], { stdio: 'ignore' });
const stopAll = [];
// Registered before the registry starts, so a failed start still leaves nothing behind.
process.on('exit', () => {
  for (const s of stopAll) s();
  rmSync(work, { recursive: true, force: true });
  // Synchronous here (an exit handler cannot wait): psql ends the registry's sessions and drops it.
  if (pgdb) execFileSync('psql', [TEST_POSTGRES_URL, '-qc', `DROP DATABASE IF EXISTS "${pgdb.name}" WITH (FORCE)`], { stdio: 'ignore' });
});
const { child: registry } = await startRegistry({
  port,
  dataDir: join(work, 'data'),
  // On PostgreSQL the rate limits are counted in this one process unless SIGIL_REDIS_URL (or
  // SIGIL_RATE_LIMIT_STORE) is set in the environment (docs/deploy.md, "Rate limits shared by every instance").
  env: { ...(pgdb ? { SIGIL_DATABASE_URL: pgdb.url } : {}), ...(pgdb && !process.env.SIGIL_REDIS_URL && !process.env.SIGIL_RATE_LIMIT_STORE ? { SIGIL_RATE_LIMIT_STORE: 'local' } : {}), ...NO_RATE_LIMITS, SIGIL_PENDING_LIMIT: '100000' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
stopAll.push(() => registry.kill('SIGKILL'));
const world = await seedWeather(base);
const { signer, manifest, pub, reader, versionPath } = world;
// The distinct questions: their bytes as hosts get them (a checkpoint covers every one), for the bare server too.
const distinctPaths = await seedDistinct(base, world, { servers: 10, perServer: 20 });
const distinctBytes = {};
for (const path of distinctPaths) distinctBytes[path] = Buffer.from(await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${reader}` } })).arrayBuffer()).toString('base64');
const distinctFile = join(work, 'distinct.json');
writeFileSync(distinctFile, JSON.stringify(distinctBytes));
const versionBytes = Buffer.from(await (await fetch(`${base}${versionPath}`, { headers: { authorization: `Bearer ${reader}` } })).arrayBuffer());
const serverPath = '/v1/servers/io.github.acme/weather';
const serverBytes = Buffer.from(await (await fetch(`${base}${serverPath}`, { headers: { authorization: `Bearer ${reader}` } })).arrayBuffer());
const mcpPath = '/v0.1/servers/io.github.acme%2Fweather/versions/latest';
const mcpBytes = Buffer.from(await (await fetch(`${base}${mcpPath}`, { headers: { authorization: `Bearer ${reader}` } })).arrayBuffer());
// As hosts ask it (packages/resolver: a nonce, batched), and signed on its own (batch left out).
const statusBody = JSON.stringify({ refs: ['io.github.acme/weather@1.0.0'], nonce: 'YmVuY2gtbm9uY2UtMDAwMDAx', batch: true });
const singleBody = JSON.stringify({ refs: ['io.github.acme/weather@1.0.0'], nonce: 'YmVuY2gtbm9uY2UtMDAwMDAx' });
const statusOf = async (body) => Buffer.from(await (await fetch(`${base}/v1/status`, { method: 'POST', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body })).arrayBuffer());
const statusBytes = await statusOf(statusBody);
const singleBytes = await statusOf(singleBody);

// The baseline: bare node:http returning the same bytes, in a child process like the registry.
const bare = spawn(
  process.execPath,
  [
    '-e',
    `const http=require('node:http');const d=new Map(Object.entries(JSON.parse(require('node:fs').readFileSync(process.env.D,'utf8'))).map(([p,b])=>[p,Buffer.from(b,'base64')]));const v=Buffer.from(process.env.V,'base64');const s=Buffer.from(process.env.S,'base64');const s1=Buffer.from(process.env.S1,'base64');const sv=Buffer.from(process.env.SV,'base64');const m=Buffer.from(process.env.M,'base64');
     http.createServer((q,r)=>{const b=q.url==='/v1/status'?(q.headers['x-bench']==='single'?s1:s):q.url.startsWith('/v0.1/')?m:q.url.endsWith('/weather')?sv:(d.get(q.url)??v);q.resume();q.on('end',()=>{r.writeHead(200,{'content-type':'application/json','content-length':b.length});r.end(b)})}).listen(${port + 1},'127.0.0.1',()=>console.log('up'))`,
  ],
  { env: { ...process.env, D: distinctFile, V: versionBytes.toString('base64'), S: statusBytes.toString('base64'), S1: singleBytes.toString('base64'), SV: serverBytes.toString('base64'), M: mcpBytes.toString('base64') }, stdio: ['ignore', 'pipe', 'inherit'] },
);
stopAll.push(() => bare.kill('SIGKILL'));
await new Promise((r) => bare.stdout.once('data', r));

const lua = join(work, 'post.lua');
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(statusBody)}\nwrk.headers["Content-Type"] = "application/json"\n`);
// The same request signed on its own; X-Bench tells the bare server which bytes to return (the registry ignores it).
const singleLua = join(work, 'post-single.lua');
writeFileSync(singleLua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(singleBody)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["X-Bench"] = "single"\n`);
// Each request the next of the distinct paths (each wrk thread from its own place in the list,
// its connections taking them in turn), so the requests of one moment ask different questions.
const distinctLua = join(work, 'distinct.lua');
writeFileSync(
  distinctLua,
  `local paths = {${distinctPaths.map((p) => JSON.stringify(p)).join(',')}}\nlocal threads = 0\n` +
    'function setup(thread) thread:set("start", threads * 97) threads = threads + 1 end\n' +
    'function init(args) i = (start or 0) % #paths end\n' +
    'function request() i = i % #paths + 1 return wrk.format(nil, paths[i]) end\n',
);
// CPU seconds a process has used (user + system), from /proc: under a loaded machine the
// requests per second swing with what else runs, the CPU time per request much less.
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpuOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
};
// On PostgreSQL the server's processes for the registry's database (its pool and pipelined
// connections) work for every read too: their CPU time per request is shown beside the node's.
const monitor = pgdb ? new pg.Client({ connectionString: TEST_POSTGRES_URL }) : undefined;
await monitor?.connect();
const backends = async () => (monitor ? (await monitor.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [pgdb.name])).rows.map((r) => r.pid) : []);
// A process gone (its /proc entry with it) is left out.
const cpuOfAll = (pids) => new Map(pids.flatMap((p) => { try { return [[p, cpuOf(p)]]; } catch { return []; } }));
// Statements the registry's database ran (pg_stat_database's transactions: a batch of GET
// versions, or any read on a pipelined connection, is one), after the backends have reported
// them (within a second): how many requests one statement answered says which batches a run had.
const statements = async () => {
  await new Promise((r) => setTimeout(r, 1200));
  return Number((await monitor.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [pgdb.name])).rows[0].n);
};
async function wrk(url, post, pid) {
  const xacts = monitor ? await statements() : 0;
  const before = cpuOfAll(await backends());
  const cpu = cpuOf(pid);
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', `Authorization: Bearer ${reader}`, ...(post ? ['-s', { single: singleLua, distinct: distinctLua }[post] ?? lua] : []), url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = p99raw ? Number(p99raw[1]) * { us: 0.001, ms: 1, s: 1000 }[p99raw[2]] : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (non2xx > 0) throw new Error(`${url}: ${non2xx} non-2xx answers`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const cpuUs = ((cpuOf(pid) - cpu) / requests) * 1e6;
  // A backend that ended during the run is left out; one that began counts from zero.
  let db = 0;
  for (const [p, after] of cpuOfAll([...before.keys(), ...(await backends())])) db += after - (before.get(p) ?? 0);
  return { rps, p99, cpuUs, dbUs: (db / requests) * 1e6, perStatement: monitor ? requests / ((await statements()) - xacts) : NaN };
}

// Warm both servers up first (JIT, caches), so the first endpoint measured is not the cold one.
execFileSync('wrk', ['-t2', `-c${connections}`, '-d2s', '-H', `Authorization: Bearer ${reader}`, `${base}${versionPath}`], { encoding: 'utf8' });
execFileSync('wrk', ['-t2', `-c${connections}`, '-d2s', `http://127.0.0.1:${port + 1}${versionPath}`], { encoding: 'utf8' });
const rows = [];
for (const [label, path, post] of [['GET version', versionPath, false], ['GET 200 versions', versionPath, 'distinct'], ['GET server', serverPath, false], ['GET v0.1 latest', mcpPath, false], ['POST /v1/status', '/v1/status', true], ['POST status 1 sig', '/v1/status', 'single']]) {
  const sigil = await wrk(`${base}${path}`, post, registry.pid);
  const floor = await wrk(`http://127.0.0.1:${port + 1}${path}`, post, bare.pid);
  rows.push({ label, sigil, floor });
}
if (readsOnly) {
  printReads();
  process.exit(0);
}

// Scale: the same reads with the versions stored so far (the weather version and the 200
// distinct ones: 201), then with 100,000 (goal: GET version p99 within 1.5x of the first case; listing and search paginated, p99 under 20 ms). The
// versions are seeded by plain SQL inserts of realistic rows (the real version's manifest and
// bundle texts, and the server object text stored with it, under other names, 5 versions per
// server) through a second connection.
const seedDb = pgdb ? undefined : new Database(join(work, 'data', 'registry.db'));
seedDb?.pragma('busy_timeout = 10000');
const model = seedDb?.prepare("SELECT * FROM versions WHERE server = 'io.github.acme/weather' AND version = '1.0.0'").get();
const seedPg = pgdb ? new pg.Client({ connectionString: pgdb.url }) : undefined;
await seedPg?.connect();
const addServer = seedDb?.prepare('INSERT INTO servers (name, namespace, owner, created_at) VALUES (?, ?, ?, ?)');
const addVersion = seedDb?.prepare(
  'INSERT INTO versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, findings, published_at, server_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
let seeded = 0;
// On PostgreSQL the same rows (names, versions, digests, statuses, the model's texts) in two
// statements over generate_series: row-by-row inserts would be 200,000 round trips.
const seedToPostgres = async (total) => {
  const t0 = performance.now();
  const stored = Number((await seedPg.query('SELECT count(*) AS n FROM versions')).rows[0].n);
  const from = seeded;
  const to = from + Math.max(0, total - stored);
  if (to > from) {
    const server = "format('io.github.seed%s/server-%s', i / 5000, lpad((i / 5)::text, 6, '0'))";
    await seedPg.query('BEGIN');
    await seedPg.query(`INSERT INTO servers (name, namespace, owner, created_at) SELECT ${server}, format('io.github.seed%s', i / 5000), 'seed', m.published_at FROM generate_series($1::int, $2::int - 1) AS i, versions m WHERE i % 5 = 0 AND m.server = 'io.github.acme/weather' AND m.version = '1.0.0'`, [from, to]);
    await seedPg.query(
      `INSERT INTO versions (server, version, digest, tools_digest, manifest, bundle, signer_kind, signer_fingerprint, publisher, status, risk, findings, published_at, server_json)
       SELECT ${server}, '1.0.' || (i % 5), 'sha256:' || encode(sha256(convert_to(${server} || i, 'UTF8')), 'hex'), m.tools_digest, m.manifest, m.bundle, m.signer_kind, m.signer_fingerprint, 'seed',
              CASE WHEN i % 5 = 4 THEN 'pending' ELSE 'approved' END, 'low', '[]', m.published_at, m.server_json
       FROM generate_series($1::int, $2::int - 1) AS i, versions m WHERE m.server = 'io.github.acme/weather' AND m.version = '1.0.0'`,
      [from, to],
    );
    await seedPg.query('COMMIT');
    await seedPg.query('ANALYZE servers; ANALYZE versions');
    seeded = to;
  }
  return ((performance.now() - t0) / 1000).toFixed(1);
};
const seedTo = (total) => {
  if (seedPg) return seedToPostgres(total);
  const t0 = performance.now();
  seedDb.transaction(() => {
    const stored = seedDb.prepare('SELECT count(*) AS n FROM versions').get().n;
    const from = seeded;
    for (let i = from; stored + (i - from) < total; i++) {
      const server = `io.github.seed${Math.floor(i / 5000)}/server-${String(Math.floor(i / 5)).padStart(6, '0')}`;
      if (i % 5 === 0) addServer.run(server, server.split('/')[0], 'seed', model.published_at);
      addVersion.run(server, `1.0.${i % 5}`, `sha256:${createHash('sha256').update(server + i).digest('hex')}`, model.tools_digest, model.manifest, model.bundle, model.signer_kind, model.signer_fingerprint, 'seed', i % 5 === 4 ? 'pending' : 'approved', 'low', '[]', model.published_at, model.server_json);
      seeded = i + 1;
    }
    // IMMEDIATE: take the write lock first (waiting out the registry's own writes), never
    // upgrade a read lock the registry's checkpointer may be racing for (SQLITE_BUSY at once).
  }).immediate();
  return ((performance.now() - t0) / 1000).toFixed(1);
};
const scalePaths = [
  ['GET version', versionPath],
  ['list servers (page of 30)', '/v1/servers?limit=30'],
  ['list servers, later page', `/v1/servers?limit=30&cursor=${Buffer.from('io.github.seed9/server-004000').toString('base64url')}`],
  ['search servers', '/v1/servers?search=server-0123&limit=30'],
  ['v0.1 list (latest)', '/v0.1/servers?version=latest&limit=30'],
];
const scale = {};
// The versions stored at each case (the first holds the weather version, the 200 distinct ones and any seeded up to 100).
const storedAt = {};
const measureScale = async (total) => {
  const took = await seedTo(total);
  seedDb?.pragma('wal_checkpoint(TRUNCATE)');
  const stored = seedDb ? seedDb.prepare('SELECT count(*) AS n FROM versions').get().n : Number((await seedPg.query('SELECT count(*) AS n FROM versions')).rows[0].n);
  storedAt[total] = stored;
  console.log(`scale: ${stored} versions stored (seeded in ${took} s)`);
  for (const [label, path] of scalePaths) (scale[label] ??= {})[total] = await wrk(`${base}${path}`, false, registry.pid);
};
// The first case now (the publishes below add 200 versions); seeds nothing once 100 are stored.
await measureScale(100);
// Publishes per second: distinct signed versions, 8 at a time, through the whole pipeline.
const count = 200;
const bodies = await Promise.all(Array.from({ length: count }, async (_, i) => {
  const m = { ...manifest, version: `2.0.${i}` };
  return JSON.stringify({ manifest: m, bundle: await signManifestStatement(m, signer) });
}));
let next = 0;
const started = performance.now();
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < count) {
    const body = bodies[next++];
    // Connections the client kept alive through the wrk runs may have been closed by the
    // server's keep-alive timeout meanwhile: retry once on a fresh socket.
    const send = () => fetch(`${base}/v1/publish`, { method: 'POST', headers: { authorization: `Bearer ${pub}`, 'content-type': 'application/json' }, body });
    const res = await send().catch(send);
    if (res.status !== 201) throw new Error(`publish: ${res.status} ${await res.text()}`);
    await res.arrayBuffer().catch(() => undefined);
  }
}));
const publishes = count / ((performance.now() - started) / 1000);

printReads();
console.log(`publishes/s (8 concurrent, signed, verified, linted, audited): ${publishes.toFixed(0)}, ${(publishes / 200).toFixed(2)}x the goal of 200/s`);

await measureScale(100_000);
seedDb?.close();
await seedPg?.end();
await monitor?.end();
// CPU µs per request beside the p99: under a loaded machine the p99 is mostly the wait for a
// core, the CPU time is what the read itself costs.
const [few, many] = [storedAt[100], storedAt[100_000]].map((n) => n.toLocaleString('en'));
console.log(`scale read                 | ${`p99 ms at ${few} versions`.padStart(22)} | ${`at ${many}`.padStart(10)} | ratio (goal)          | ${`req/s at ${few}`.padStart(12)} | ${`at ${many}`.padStart(10)} | ${`CPU µs/req at ${few}`.padStart(17)} | ${`at ${many}`.padStart(10)}`);
for (const [label] of scalePaths) {
  const [small, large] = [scale[label][100], scale[label][100_000]];
  const goalText = label === 'GET version' ? `${(large.p99 / small.p99).toFixed(2)} (<= 1.5)` : `${large.p99.toFixed(1)} ms (< 20 ms)`;
  console.log(
    `${label.padEnd(26)} | ${small.p99.toFixed(2).padStart(22)} | ${large.p99.toFixed(2).padStart(10)} | ${goalText.padEnd(21)} | ${small.rps.toFixed(0).padStart(12)} | ${large.rps.toFixed(0).padStart(10)} | ${small.cpuUs.toFixed(0).padStart(17)} | ${large.cpuUs.toFixed(0).padStart(10)}`,
  );
}
process.exit(0);

/** The reads' table: each row beside bare node:http in the same run. */
function printReads() {
  console.log(`${postgres ? 'PostgreSQL' : 'SQLite'}; node ${process.version}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; wrk -t2 -c${connections} -d${seconds}s over loopback; ${versionBytes.length} B version, ${statusBytes.length} B status (${singleBytes.length} B signed on its own)`);
  // Goals (issue 12): GET version and GET server at least 0.6x bare's req/s with p99 at most 2x;
  // POST /v1/status at least 0.3x; 200 publishes/s with 8 concurrent clients.
  const goal = { 'GET version': 0.6, 'GET 200 versions': 0.6, 'GET server': 0.6, 'GET v0.1 latest': 0.6, 'POST /v1/status': 0.3, 'POST status 1 sig': '-' };
  console.log(`endpoint          | sigil req/s | p99 ms | bare node:http req/s | p99 ms | req/s ratio (goal) | p99 ratio (goal) | CPU µs/req sigil, bare, bare/sigil${pgdb ? ' | PostgreSQL CPU µs/req | requests per statement' : ''}`);
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(17)} | ${r.sigil.rps.toFixed(0).padStart(11)} | ${r.sigil.p99.toFixed(2).padStart(6)} | ${r.floor.rps.toFixed(0).padStart(20)} | ${r.floor.p99.toFixed(2).padStart(6)} | ${(r.sigil.rps / r.floor.rps).toFixed(2).padStart(11)} (${goal[r.label]}) | ${(r.sigil.p99 / r.floor.p99).toFixed(1).padStart(9)} (${r.label.startsWith('GET') ? 2 : '-'})    | ${r.sigil.cpuUs.toFixed(0)}, ${r.floor.cpuUs.toFixed(0)}, ${(r.floor.cpuUs / r.sigil.cpuUs).toFixed(2)}${pgdb ? ` | ${r.sigil.dbUs.toFixed(0).padEnd(21)} | ${r.sigil.perStatement.toFixed(1)}` : ''}`,
    );
  }
}
