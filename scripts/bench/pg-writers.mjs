#!/usr/bin/env node
// Several writers on one PostgreSQL database, two ways of keeping the audit chain, the approval
// count, the version-exists check and the log's order exact (packages/db, openPostgres `writes`):
//   advisory-lock  every write transaction takes one transaction-scoped advisory lock first
//   serializable   SERIALIZABLE isolation, a transaction run again on 40001 / 40P01 / 23505
// Each writer runs the statements the registry's publish and approval run (version-exists check,
// pending count, server, version and its tool rows, audit event, log entries and nodes; the
// approval with its two audit events and status change), through the data layer, on its own
// pooled connection, as N registry instances' writers would. Every version is published twice
// (one insert, one replay) and approved once. Rounds alternate between the two modes in the same
// run, on a fresh database created and dropped here. After each round: exactly the expected rows,
// the audit chain verified from the first event, the log's stored root equal to the root
// re-derived from every leaf.
// Usage: node scripts/bench/pg-writers.mjs [writers, default 8] [versions per round, default 150] [rounds per mode, default 3]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendAudit,
  appendLogEntries,
  approvalByReviewerOrKey,
  approvalsOf,
  countPending,
  insertApproval,
  insertServer,
  insertVersion,
  logHashes,
  logSize,
  openPostgres,
  serverByName,
  setVersionStatus,
  verifyAuditChain,
  versionOf,
} from '@sigil/db';
import { createTestDatabase, TEST_POSTGRES_URL } from '@sigil/testing';
import { merkleTreeHash, treeRoot, treeRootNodes } from '@sigil/tlog';

const writers = Number(process.argv[2] ?? 8);
const perRound = Number(process.argv[3] ?? 150);
const roundsPerMode = Number(process.argv[4] ?? 3);
const pgdb = await createTestDatabase('sigil_bench_writers');
// Dropped at exit whatever happened (an exit handler cannot wait: psql, synchronously).
process.on('exit', () => execFileSync('psql', [TEST_POSTGRES_URL, '-qc', `DROP DATABASE IF EXISTS "${pgdb.name}" WITH (FORCE)`], { stdio: 'ignore' }));
const stores = {
  'advisory-lock': await openPostgres(pgdb.url, { writes: 'advisory-lock', max: writers }),
  serializable: await openPostgres(pgdb.url, { writes: 'serializable', max: writers }),
};
const load = () => execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
console.log(`node ${process.version}; ${writers} writers, ${perRound} versions per round (each published twice, approved once), ${roundsPerMode} rounds per mode, alternating; load average at start ${load()}`);

// Realistic row sizes: a 12-tool manifest and a bundle-sized text.
const tools = Array.from({ length: 12 }, (_, i) => ({ name: `tool_${i}`, description: `Looks up item ${i}.`.padEnd(120, '.'), inputSchema: { type: 'object', properties: { id: { type: 'string' } } }, annotations: { readOnlyHint: true } }));
const bundleText = JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', dsseEnvelope: { payload: 'x'.repeat(1200), signatures: [{ sig: 'y'.repeat(96) }] } });
const sha = (s) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const entry = (kind, subject) => ({ kind, subject, form: 'sigil-event', body: Buffer.from(JSON.stringify({ kind, subject, nonce: Math.random() })) });

async function publish(db, name, version) {
  const manifest = JSON.stringify({ name, version, description: 'Bench server', tools });
  const now = new Date().toISOString();
  return db.transaction(async (tx) => {
    const raced = await versionOf(tx, name, version);
    if (raced) return 'replay';
    await countPending(tx, name.split('/')[0]);
    if (!(await serverByName(tx, name))) await insertServer(tx, { name, namespace: name.split('/')[0], owner: 'bench', createdAt: now });
    await insertVersion(tx, {
      server: name, version, digest: sha(manifest), toolsDigest: sha('tools'), manifest, bundle: bundleText, provenance: null,
      signerKind: 'key', signerFingerprint: 'SHA256:bench', signerIdentity: null, publisher: 'bench', status: 'pending', risk: 'low', findings: '[]', publishedAt: now,
    });
    await appendAudit(tx, { actor: 'bench', action: 'version.publish', subject: `${name}@${version}`, details: { digest: sha(manifest) } });
    await appendLogEntries(tx, [entry('manifest', `${name}@${version}`)], now);
    return 'created';
  });
}

async function approve(db, name, version) {
  const now = new Date().toISOString();
  return db.transaction(async (tx) => {
    const current = await versionOf(tx, name, version);
    if (current.status !== 'pending') return 'decided';
    if (await approvalByReviewerOrKey(tx, current.id, 'alice', 'SHA256:alice')) return 'decided';
    const count = (await approvalsOf(tx, current.id)).length + 1;
    const digest = sha(`${name}@${version}`);
    await appendAudit(tx, { actor: 'alice', action: 'version.approve', subject: `${name}@${version}`, details: { approval: digest, count, needed: 1 } });
    await insertApproval(tx, { versionId: current.id, reviewer: 'alice', digest, bundle: bundleText, signerFingerprint: 'SHA256:alice', createdAt: now });
    await appendLogEntries(tx, [entry('approval', `${name}@${version}`)], now);
    await appendAudit(tx, { actor: 'alice', action: 'version.approved', subject: `${name}@${version}`, details: { approvals: count } });
    await setVersionStatus(tx, current.id, { status: 'approved' });
    return 'approved';
  });
}

async function round(mode, index) {
  const { db, stats } = stores[mode];
  const retriesBefore = stats.retries;
  // Both publishes of a version are queued next to each other, so two writers race on it; its
  // approval is queued once the first publish has committed.
  const queue = [];
  for (let j = 0; j < perRound; j++) {
    const name = `io.github.r${index}/server-${j % 10}`;
    queue.push({ kind: 'publish', name, version: `1.0.${j}` }, { kind: 'publish', name, version: `1.0.${j}` });
  }
  const latencies = [];
  const outcomes = {};
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (queue.length > 0) {
        const op = queue.shift();
        const t0 = performance.now();
        // A transaction still refused after every attempt counts as failed (the client's write
        // would be answered 500); the exactness checks then count only what was acknowledged.
        const result = await (op.kind === 'publish' ? publish(db, op.name, op.version) : approve(db, op.name, op.version)).catch((e) => {
          if (!['40001', '40P01', '23505'].includes(e.code)) throw e;
          return 'failed';
        });
        latencies.push(performance.now() - t0);
        outcomes[`${op.kind} ${result}`] = (outcomes[`${op.kind} ${result}`] ?? 0) + 1;
        if (op.kind === 'publish' && result === 'created') queue.push({ kind: 'approve', name: op.name, version: op.version });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  // Exact: every version once, approved once, every audit event in one chain, the log's root.
  const check = stores['advisory-lock'].raw;
  const n = async (sql, params = []) => Number((await check.get(`select count(*) as n from (${sql}) t`, params)).n);
  const exact = {
    versions: (await n(`select id from versions where server like ?`, [`io.github.r${index}/%`])) === (outcomes['publish created'] ?? 0),
    approved: (await n(`select id from versions where server like ? and status = 'approved'`, [`io.github.r${index}/%`])) === (outcomes['approve approved'] ?? 0),
    approvals: (await n(`select a.id from approvals a join versions v on v.id = a.version_id where v.server like ?`, [`io.github.r${index}/%`])) === (outcomes['approve approved'] ?? 0),
    outcomes: (outcomes['publish created'] ?? 0) + (outcomes['publish replay'] ?? 0) + (outcomes['publish failed'] ?? 0) === 2 * perRound && !outcomes['approve decided'],
    audit: (await verifyAuditChain(db)).ok,
  };
  const size = await logSize(db);
  const leaves = (await check.all('select leaf_hash from log_entries order by idx')).map((r) => new Uint8Array(r.leaf_hash));
  exact.log = leaves.length === size && Buffer.from(treeRoot(size, await logHashes(db, treeRootNodes(size)))).equals(Buffer.from(merkleTreeHash(leaves)));
  const transactions = latencies.length;
  const failed = (outcomes['publish failed'] ?? 0) + (outcomes['approve failed'] ?? 0);
  return { mode, transactions, failed, seconds, tps: (transactions - failed) / seconds, p50: p(0.5), p99: p(0.99), retries: stats.retries - retriesBefore, cpuMsPerTx: (used.user + used.system) / 1000 / transactions, exact };
}

const results = [];
let index = 0;
for (let r = 0; r < roundsPerMode; r++) {
  for (const mode of r % 2 === 0 ? ['advisory-lock', 'serializable'] : ['serializable', 'advisory-lock']) {
    const res = await round(mode, index++);
    results.push(res);
    const bad = Object.entries(res.exact).filter(([, ok]) => !ok).map(([k]) => k);
    console.log(`${mode.padEnd(13)} round ${index}: ${res.tps.toFixed(0).padStart(5)} tx/s, p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms, ${res.retries} retries, ${res.failed} failed, ${res.cpuMsPerTx.toFixed(2)} ms node CPU/tx, exact: ${bad.length ? `NO (${bad.join(', ')})` : 'yes'}`);
  }
}
console.log(`load average at end ${load()}`);
console.log('mode          | committed tx/s (median of rounds) | p99 ms (median) | retries per 100 tx | failed | exact in every round');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = {};
for (const mode of ['advisory-lock', 'serializable']) {
  const rs = results.filter((r) => r.mode === mode);
  summary[mode] = { tps: median(rs.map((r) => r.tps)), p99: median(rs.map((r) => r.p99)) };
  const retries = rs.reduce((a, r) => a + r.retries, 0);
  const txs = rs.reduce((a, r) => a + r.transactions, 0);
  console.log(`${mode.padEnd(13)} | ${summary[mode].tps.toFixed(0).padStart(33)} | ${summary[mode].p99.toFixed(1).padStart(15)} | ${((100 * retries) / txs).toFixed(1).padStart(18)} | ${String(rs.reduce((a, r) => a + r.failed, 0)).padStart(6)} | ${rs.every((r) => Object.values(r.exact).every(Boolean)) ? 'yes' : 'NO'}`);
}
console.log(`serializable / advisory-lock: throughput ${(summary.serializable.tps / summary['advisory-lock'].tps).toFixed(2)}x, p99 ${(summary.serializable.p99 / summary['advisory-lock'].p99).toFixed(2)}x`);
await stores['advisory-lock'].close();
await stores.serializable.close();
