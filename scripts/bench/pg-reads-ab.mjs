#!/usr/bin/env node
// A/B of GET version on PostgreSQL: two builds of the registry on one database, loaded in turns
// (wrk over loopback, one build at a time, the order alternating), each turn printing per
// request the registry process's CPU, the CPU of the PostgreSQL backends serving it, req/s, and
// how many requests one statement answered (pg_stat_database's transactions: a batch of GET
// versions, or any read on a pipelined connection, is one). On a shared machine req/s moves with
// the neighbours; CPU per request and requests per statement say what a change did. The rows:
// one version asked again and again, and 200 distinct approved versions in turn (registry.mjs's).
// Usage: node scripts/bench/pg-reads-ab.mjs <baseline checkout> [seconds per turn, default 4] [turns, default 3] [connections, default 32]
// The baseline checkout is another worktree of this repository, built (e.g. `git worktree add
// --detach ../base main`, node_modules copied, `npx turbo build`); this checkout is the other build.
// (SIGIL_BENCH_PROF=<dir>: a CPU profile of this checkout's registry, written there at the end.)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { createTestDatabase, TEST_POSTGRES_URL } from '@sigil/testing';
import { ADMIN, NO_RATE_LIMITS, seedDistinct, seedWeather, startRegistry } from './lib/registry-world.mjs';

const [baseline, secondsArg, turnsArg, connArg] = process.argv.slice(2);
if (!baseline) throw new Error('usage: pg-reads-ab.mjs <baseline checkout> [seconds] [turns] [connections]');
const seconds = Number(secondsArg ?? 4);
const turns = Number(turnsArg ?? 3);
const connections = Number(connArg ?? 32);
const pgdb = await createTestDatabase('sigil_bench_pg_ab');
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-pg-ab-'));
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  execFileSync('psql', [TEST_POSTGRES_URL, '-qc', `DROP DATABASE IF EXISTS "${pgdb.name}" WITH (FORCE)`], { stdio: 'ignore' });
});
const here = new URL('../../', import.meta.url).pathname;
execFileSync(process.execPath, [join(here, 'apps/registry/bin/sigil-registry.js'), 'keys', 'init', join(work, 'data', 'keys')], { stdio: 'ignore' });
const env = { SIGIL_DATABASE_URL: pgdb.url, SIGIL_RATE_LIMIT_STORE: 'local', ...NO_RATE_LIMITS, SIGIL_PENDING_LIMIT: '100000' };
const port = 22000 + Math.floor(Math.random() * 2000);
const { child: seeder, base } = await startRegistry({ port, dataDir: join(work, 'data'), env, stdio: ['ignore', 'ignore', 'inherit'] });
children.push(seeder);
const world = await seedWeather(base);
const distinct = await seedDistinct(base, world, { servers: 10, perServer: 20 });
seeder.kill('SIGTERM');
await new Promise((r) => seeder.once('exit', r));

async function start(checkout, p, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, join(resolve(checkout), 'apps/registry/bin/sigil-registry.js')], {
    env: { ...process.env, ...env, PORT: String(p), SIGIL_DATA_DIR: join(work, 'data'), SIGIL_BOOTSTRAP_TOKEN: ADMIN, SIGIL_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (let i = 0; !(await fetch(`http://127.0.0.1:${p}/healthz`).then((r) => r.ok, () => false)); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error(`the registry of ${checkout} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base: `http://127.0.0.1:${p}` };
}
const builds = [
  { label: 'baseline', ...(await start(baseline, port + 1)) },
  // SIGIL_BENCH_PROF=<dir>: a CPU profile of this build (written when it exits, at the end).
  { label: 'this', ...(await start(here, port + 2, process.env.SIGIL_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SIGIL_BENCH_PROF] : [])) },
];
// Both answer the same bytes.
for (const path of [world.versionPath, distinct[7]]) {
  const [a, b] = await Promise.all(builds.map(async (x) => Buffer.from(await (await fetch(`${x.base}${path}`, { headers: { authorization: `Bearer ${world.reader}` } })).arrayBuffer())));
  if (!a.equals(b)) throw new Error(`${path}: the builds answer different bytes`);
}
const distinctLua = join(work, 'distinct.lua');
writeFileSync(
  distinctLua,
  `local paths = {${distinct.map((p) => JSON.stringify(p)).join(',')}}\nlocal threads = 0\n` +
    'function setup(thread) thread:set("start", threads * 97) threads = threads + 1 end\n' +
    'function init(args) i = (start or 0) % #paths end\n' +
    'function request() i = i % #paths + 1 return wrk.format(nil, paths[i]) end\n',
);
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks;
};
const monitor = new pg.Client({ connectionString: TEST_POSTGRES_URL });
await monitor.connect();
// The client backends only: an autovacuum worker on the new tables is no read's work.
const backends = async () => (await monitor.query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", [pgdb.name])).rows.map((r) => r.pid);
const cpuAll = (pids) => new Map(pids.flatMap((p) => { try { return [[p, cpuOf(p)]]; } catch { return []; } }));
// Statements the database ran (each batch or read on a pipelined connection is one transaction of its own).
const statements = async () => {
  await new Promise((r) => setTimeout(r, 1200)); // the backends report their counts within a second
  return Number((await monitor.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [pgdb.name])).rows[0].n);
};
async function wrk(build, distinctPaths) {
  const xacts = await statements();
  const before = cpuAll(await backends());
  const cpu = cpuOf(build.child.pid);
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-H', `Authorization: Bearer ${world.reader}`, ...(distinctPaths ? ['-s', distinctLua] : []), `${build.base}${world.versionPath}`], { encoding: 'utf8' });
  if (/Non-2xx/.test(out)) throw new Error(out);
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  let db = 0;
  const node = ((cpuOf(build.child.pid) - cpu) / requests) * 1e6;
  for (const [p, after] of cpuAll([...before.keys(), ...(await backends())])) db += after - (before.get(p) ?? 0);
  return { rps, node, db: (db / requests) * 1e6, perStatement: requests / ((await statements()) - xacts) };
}
// Warm-up: every distinct version read once by each build (its served bundle made), then both rows under load.
for (const b of builds) for (const path of distinct) await (await fetch(`${b.base}${path}`, { headers: { authorization: `Bearer ${world.reader}` } })).arrayBuffer();
for (const b of builds) for (const d of [false, true]) execFileSync('wrk', ['-t2', `-c${connections}`, '-d2s', '-H', `Authorization: Bearer ${world.reader}`, ...(d ? ['-s', distinctLua] : []), `${b.base}${world.versionPath}`]);
const results = {};
for (let t = 0; t < turns; t++) {
  for (const [row, d] of [['GET version', false], ['GET 200 versions', true]]) {
    for (const b of t % 2 ? [...builds].reverse() : builds) ((results[row] ??= {})[b.label] ??= []).push(await wrk(b, d));
  }
}
await monitor.end();
if (process.env.SIGIL_BENCH_PROF) {
  builds[1].child.kill('SIGTERM');
  await new Promise((r) => builds[1].child.once('exit', r));
}
console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; wrk -t2 -c${connections} -d${seconds}s, ${turns} turns each`);
console.log('row              | build    | node CPU µs/req (each turn) | PostgreSQL CPU µs/req | req/s                | requests per statement');
for (const [row, byBuild] of Object.entries(results)) {
  for (const [label, rs] of Object.entries(byBuild)) {
    console.log(`${row.padEnd(16)} | ${label.padEnd(8)} | ${rs.map((r) => r.node.toFixed(0)).join(', ').padEnd(27)} | ${rs.map((r) => r.db.toFixed(0)).join(', ').padEnd(21)} | ${rs.map((r) => r.rps.toFixed(0)).join(', ').padEnd(20)} | ${rs.map((r) => r.perStatement.toFixed(1)).join(', ')}`);
  }
}
process.exit(0);
