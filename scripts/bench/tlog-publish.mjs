#!/usr/bin/env node
// What the transparency log costs a publish, measured in the same run on this machine:
//   P: ms per publish through the full registry pipeline in-process (createApp over a fresh
//      SQLite file, real signed bundles), with the log on (it always is);
//   L: ms for the log's share alone, on another fresh SQLite file: both entry bodies built from
//      a real bundle (dsse + hashedrekord), appended in their own transaction (so L also pays a
//      commit the real publish shares with its record: an upper bound), and the checkpoints the
//      cadence signs.
// C: one small write transaction (the commit L pays alone). Publishes per second without the log
// are estimated as 1 / (P - L) (upper bound on the log) and 1 / (P - (L - C)) (commit shared); the
// ratio with/without is printed for both (goal: at least 0.9). Needs a build (npx turbo run build).
// Usage: node scripts/bench/tlog-publish.mjs [publishes, default 300]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendLogEntries, openDatabase } from '@sigil/db';
import { createSigner, generateKeyPair, signManifestStatement } from '@sigil/signing/sign';
import { pino } from 'pino';
import { createApp } from '../../apps/registry/dist/app.js';
import { DEFAULT_SETTINGS } from '../../apps/registry/dist/config.js';
import { loadRegistryKeys } from '../../apps/registry/dist/keys.js';
import { createLinter } from '../../apps/registry/dist/linter.js';
import { createMetrics } from '../../apps/registry/dist/metrics.js';
import { bundleLogEntries } from '../../apps/registry/dist/services/append-log.js';
import { bootstrapAdmin } from '../../apps/registry/dist/services/create-token.js';
import { checkpointer } from '../../apps/registry/dist/services/sign-checkpoint.js';

const n = Number(process.argv[2] ?? 300);
if (!(Number.isInteger(n) && n >= 10 && n <= 100_000)) throw new Error('publishes: an integer from 10 to 100000');
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-tlog-publish-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const ADMIN = 'bench-admin-token-0123456789abcdef';
const publisher = generateKeyPair();
const signer = createSigner({ privateKey: publisher.privateKeyPem });
const tools = Array.from({ length: 12 }, (_, i) => ({ name: `tool_${i}`, description: `Looks up item ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } } }, annotations: { readOnlyHint: true } }));
const manifests = Array.from({ length: n }, (_, i) => ({ name: 'io.github.acme/weather', description: 'Bench server', version: `1.0.${i}`, tools }));
const bundles = [];
for (const m of manifests) bundles.push(await signManifestStatement(m, signer));

async function depsOver(name) {
  const database = openDatabase(join(work, `${name}.db`));
  const settings = { ...DEFAULT_SETTINGS, pendingLimit: n + 10, rateLimitPerToken: 1e9, rateLimitPerAddress: 1e9, logCheckpointMs: 1000 };
  return { database, deps: { db: database.db, keys: await loadRegistryKeys(join(work, `${name}-keys`)), settings, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() } };
}

// P: the whole publish.
const full = await depsOver('full');
await bootstrapAdmin(full.deps, ADMIN);
const app = createApp(full.deps);
const call = (method, path, body) => app.request(path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
if ((await call('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisher.publicKeyPem }] })).status !== 200) throw new Error('allowlist');
let t = performance.now();
for (let i = 0; i < n; i++) {
  const res = await call('POST', '/v1/publish', { manifest: manifests[i], bundle: bundles[i] });
  if (res.status !== 201) throw new Error(`publish ${i}: ${res.status} ${await res.text()}`);
}
const P = (performance.now() - t) / n;

// L: the log's share alone, with the same cadence of checkpoints.
const logOnly = await depsOver('log-only');
const cps = checkpointer(logOnly.deps);
t = performance.now();
for (let i = 0; i < n; i++) {
  const entries = bundleLogEntries('manifest', `io.github.acme/weather@1.0.${i}`, bundles[i], [publisher.publicKeyPem]);
  await logOnly.database.db.transaction((tx) => appendLogEntries(tx, entries, new Date().toISOString()));
  await cps.appended();
}
await cps.signNow();
const L = (performance.now() - t) / n;

// C: one write transaction of one small row on the same kind of file: the commit (and its
// fsync) that L pays on its own but a real publish shares with its record.
logOnly.database.sqlite.exec('CREATE TABLE bench_scratch (x BLOB)');
const insert = logOnly.database.sqlite.prepare('INSERT INTO bench_scratch (x) VALUES (?)');
const scratchTx = logOnly.database.sqlite.transaction((x) => insert.run(x));
t = performance.now();
for (let i = 0; i < n; i++) scratchTx(Buffer.alloc(32, i));
const C = (performance.now() - t) / n;

const fmt = (x) => x.toFixed(2);
console.log(`publishes: ${n} (12 tools each, key-signed), SQLite synchronous=FULL`);
console.log(`publish with the log:        ${fmt(P)} ms  (${fmt(1000 / P)} /s)`);
console.log(`the log's share (upper bound): ${fmt(L)} ms`);
console.log(`one commit of one row (shared in a real publish): ${fmt(C)} ms`);
console.log(`publish without the log (est, upper bound on the log): ${fmt(P - L)} ms  (${fmt(1000 / (P - L))} /s)  ratio with/without ${fmt((P - L) / P)}`);
console.log(`publish without the log (est, commit shared):           ${fmt(P - (L - C))} ms  (${fmt(1000 / (P - (L - C)))} /s)  ratio with/without ${fmt((P - (L - C)) / P)}`);
console.log('goal: ratio >= 0.90');
full.database.close();
logOnly.database.close();
process.exit(0);
