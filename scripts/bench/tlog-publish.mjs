#!/usr/bin/env node
// What the transparency log costs a publish, measured in one run on this machine: the same
// publish pipeline (createApp in-process over a fresh SQLite file, real key-signed bundles of 12
// tools, POST /v1/publish one after another) with the log, and without it (the registry's
// append-log module replaced by a no-op through a module hook: tlog-publish-no-log.mjs). The two
// alternate in rounds, each round a fresh child process per side, so both see the same machine
// load; the ratio of publishes per second with/without is printed (goal: at least 0.9): the
// median of the rounds' ratios (each round's two sides ran back to back), over all rounds, and of
// CPU time per publish (steadier on a shared machine; it leaves out the fsync both sides wait for).
// Needs a build (npx turbo run build).
// Usage: node scripts/bench/tlog-publish.mjs [publishes per side, default 300] [rounds, default 4]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setImmediate } from 'node:timers';

const here = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]));
} else {
  const n = Number(process.argv[2] ?? 300);
  const rounds = Number(process.argv[3] ?? 4);
  if (!(Number.isInteger(n) && n >= 10 && n <= 100_000)) throw new Error('publishes: an integer from 10 to 100000');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) throw new Error('rounds: an integer from 1 to 20');
  const per = Math.ceil(n / rounds);
  const hooks = pathToFileURL(join(here, '..', 'tlog-publish-no-log.mjs')).href;
  const run = (mode) => JSON.parse(execFileSync(process.execPath, [...(mode === 'without' ? ['--import', hooks] : []), here, '--child', mode, String(per)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  const totals = { with: { ms: 0, cpu: 0, count: 0, checkpoints: 0, entries: 0 }, without: { ms: 0, cpu: 0, count: 0, checkpoints: 0, entries: 0 } };
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so a load trend does not favour one.
    const round = {};
    for (const mode of r % 2 === 0 ? ['with', 'without'] : ['without', 'with']) {
      const out = run(mode);
      round[mode] = out;
      const t = totals[mode];
      t.ms += out.ms;
      t.cpu += out.cpu;
      t.count += out.count;
      t.checkpoints += out.checkpoints;
      t.entries += out.entries;
    }
    ratios.push(round.without.ms / round.with.ms);
  }
  const fmt = (x) => x.toFixed(2);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const each = (t, k) => t[k] / t.count;
  console.log(`publishes: ${totals.with.count} per side in ${rounds} alternating rounds (12 tools each, key-signed), SQLite synchronous=FULL, checkpoint interval 1000 ms`);
  console.log(`with the log:    ${fmt(each(totals.with, 'ms'))} ms per publish (${fmt(1000 / each(totals.with, 'ms'))} /s), CPU ${fmt(each(totals.with, 'cpu'))} ms; ${totals.with.entries} entries logged, ${totals.with.checkpoints} checkpoints signed`);
  console.log(`without the log: ${fmt(each(totals.without, 'ms'))} ms per publish (${fmt(1000 / each(totals.without, 'ms'))} /s), CPU ${fmt(each(totals.without, 'cpu'))} ms; ${totals.without.entries} entries logged`);
  console.log(`ratio of publishes per second with/without, per round: ${ratios.map(fmt).join(' ')}`);
  console.log(`ratio with/without: median of rounds ${fmt(median(ratios))}, all rounds ${fmt(each(totals.without, 'ms') / each(totals.with, 'ms'))}, CPU per publish ${fmt(each(totals.without, 'cpu') / each(totals.with, 'cpu'))}  (goal: >= 0.90)`);
}

async function child(mode, n) {
  const { openDatabase } = await import('@sigil/db');
  const { createSigner, generateKeyPair, signManifestStatement } = await import('@sigil/signing/sign');
  const { pino } = await import('pino');
  const { createApp } = await import('../../apps/registry/dist/app.js');
  const { DEFAULT_SETTINGS } = await import('../../apps/registry/dist/config.js');
  const { loadRegistryKeys } = await import('../../apps/registry/dist/keys.js');
  const { createLinter } = await import('../../apps/registry/dist/linter.js');
  const { createMetrics } = await import('../../apps/registry/dist/metrics.js');
  const { bootstrapAdmin } = await import('../../apps/registry/dist/services/create-token.js');
  const work = mkdtempSync(join(tmpdir(), `sigil-bench-tlog-publish-${mode}-`));
  try {
    const ADMIN = 'bench-admin-token-0123456789abcdef';
    const publisher = generateKeyPair();
    const signer = createSigner({ privateKey: publisher.privateKeyPem });
    const tools = Array.from({ length: 12 }, (_, i) => ({ name: `tool_${i}`, description: `Looks up item ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } } }, annotations: { readOnlyHint: true } }));
    const warm = 5;
    const manifests = Array.from({ length: n + warm }, (_, i) => ({ name: 'io.github.acme/weather', description: 'Bench server', version: `1.0.${i}`, tools }));
    const bundles = [];
    for (const m of manifests) bundles.push(await signManifestStatement(m, signer));
    const database = openDatabase(join(work, 'registry.db'));
    const settings = { ...DEFAULT_SETTINGS, pendingLimit: n + warm + 10, rateLimitPerToken: 1e9, rateLimitPerAddress: 1e9, logCheckpointMs: 1000 };
    const deps = { db: database.db, keys: await loadRegistryKeys(join(work, 'keys')), settings, logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }, process.stderr), metrics: createMetrics(), linter: createLinter() };
    await bootstrapAdmin(deps, ADMIN);
    const app = createApp(deps);
    const call = (method, path, body) => app.request(path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if ((await call('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisher.publicKeyPem }] })).status !== 200) throw new Error('allowlist');
    const publish = async (i) => {
      const res = await call('POST', '/v1/publish', { manifest: manifests[i], bundle: bundles[i] });
      if (res.status !== 201) throw new Error(`publish ${i}: ${res.status} ${await res.text()}`);
      // In-process requests never reach the event loop (better-sqlite3 is synchronous under the
      // promises): let timers run between publishes, as they do between a server's requests, so
      // the checkpoint cadence is the real one.
      await new Promise((r) => setImmediate(r));
    };
    for (let i = 0; i < warm; i++) await publish(i);
    const t = performance.now();
    const c = process.cpuUsage();
    for (let i = warm; i < n + warm; i++) await publish(i);
    const ms = performance.now() - t;
    const used = process.cpuUsage(c);
    const cpu = (used.user + used.system) / 1000;
    const count = (table) => database.sqlite.prepare(`SELECT count(*) AS c FROM ${table}`).get().c;
    process.stdout.write(`${JSON.stringify({ mode, ms, cpu, count: n, entries: count('log_entries'), checkpoints: count('log_checkpoints') })}\n`);
    await database.close?.();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}
