#!/usr/bin/env node
// What the transparency-log checks add to a host's offline start: `sigil resolve --offline` over
// the same locked servers, warm store, with a trusted root that lists no log (no log check) and
// one that lists the log (the stored checkpoint opened with the log key, then each server's
// stored proofs: entry bodies matched to the manifest and approval signatures, inclusion
// proofs hashed to the root), interleaved in the same run; medians and their ratio. The log
// holds the servers' entries among BENCH_LOG_LEAVES filler leaves (default 100,000), so the
// proofs have a realistic length. Publisher and reviewer sign with keys.
// Also the CPU time of HostTrustStore.resolve({ offline: true }) in this process (less
// disturbed by other load on a shared machine than wall time): minimum and median of 3 x runs.
// Needs the workspaces built. Usage: node scripts/bench/resolve-log.mjs [runs, default 7];
// BENCH_SIZES=1,100 to choose the server counts.
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostTrustStore, loadPolicy } from '@sigil/resolver';
import { canonicalJson, digestHex, manifestDigest, sha256, toolsSetDigest } from '@sigil/manifest';
import { buildTrustedRoot, createSigner, generateKeyPair, signApprovalStatement, signManifestStatement, signStatement } from '@sigil/signing/sign';
import { STATEMENT_TYPE, STATUS_PREDICATE_TYPE, statementSubject } from '@sigil/signing/verify';
import { dsseEntry, ed25519NoteSigner, inclusionProof, logOrigin, MemoryHashStore, signCheckpoint, transparencyLogInstance, treeRoot } from '@sigil/tlog';

const runs = Number(process.argv[2] ?? 7);
if (!(Number.isInteger(runs) && runs > 0 && runs <= 100)) throw new Error('runs: a whole number from 1 to 100');
const filler = Number(process.env.BENCH_LOG_LEAVES ?? 100_000);
const sigil = fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-resolve-log-'));

const publisherKeys = generateKeyPair();
const publisher = createSigner({ privateKey: publisherKeys.privateKeyPem });
const reviewerKeys = generateKeyPair();
const reviewer = createSigner({ privateKey: reviewerKeys.privateKeyPem });
const statusKeys = generateKeyPair();
const statusSigner = createSigner({ privateKey: statusKeys.privateKeyPem });
const logUrl = 'https://registry.bench.test/v1/log';
const origin = logOrigin(logUrl);
const logKeys = generateKeyPairSync('ed25519');
const rootWithout = buildTrustedRoot({});
const rootWith = { ...rootWithout, tlogs: [transparencyLogInstance({ baseUrl: logUrl, publicKey: logKeys.publicKey, validFrom: new Date(Date.now() - 60_000) })] };

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const spki = (pem) => createPublicKey(pem).export({ type: 'spki', format: 'der' });
function entryOf(bundle, keyPem) {
  const env = bundle.dsseEnvelope;
  const envelope = { payloadType: env.payloadType, payload: Buffer.from(env.payload, 'base64'), signatures: [{ sig: Buffer.from(env.signatures[0].sig, 'base64') }] };
  return dsseEntry({ envelope, verifiers: [{ publicKey: spki(keyPem), keyDetails: 'PKIX_ECDSA_P256_SHA_256' }] });
}

async function world(n) {
  const dirs = { without: join(work, `n${n}-nolog`), with: join(work, `n${n}-log`) };
  const now = new Date();
  const servers = {};
  const statusEntries = [];
  const records = [];
  const store = new MemoryHashStore();
  const fill = (count) => {
    for (let i = 0; i < count; i++) store.append(createHash('sha256').update(`filler ${store.size}`).digest());
  };
  fill(Math.floor(filler / 2));
  for (let i = 0; i < n; i++) {
    const manifest = {
      name: `io.github.acme/server-${i}`,
      description: `Bench server ${i}`,
      version: '1.0.0',
      tools: Array.from({ length: 8 }, (_, t) => ({ name: `tool_${t}`, description: `Looks up item ${t} of server ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, annotations: { readOnlyHint: true } })),
    };
    const digest = manifestDigest(manifest);
    const bundle = await signManifestStatement(manifest, publisher);
    const approval = await signApprovalStatement({ name: manifest.name, version: '1.0.0', digest }, { decision: 'approved', reviewer: 'alice', risk: 'low' }, reviewer);
    const approvalDigest = sha256(canonicalJson(approval));
    const record = {
      name: manifest.name, version: '1.0.0', digest, toolsDigest: toolsSetDigest(manifest.tools), manifest, status: 'approved', risk: 'low',
      publisher: 'acme-ci', signer: { kind: 'key', keyFingerprint: publisherKeys.fingerprint }, publishedAt: now.toISOString(),
      bundle, approvals: [{ digest: approvalDigest, reviewer: 'alice', bundle: approval, createdAt: now.toISOString() }],
    };
    const entries = [
      { kind: 'manifest', body: entryOf(bundle, publisherKeys.publicKeyPem) },
      { kind: 'approval', body: entryOf(approval, reviewerKeys.publicKeyPem) },
    ].map((e) => ({ ref: `${manifest.name}@1.0.0`, kind: e.kind, logIndex: store.append(e.body.leafHash), body: b64(e.body.bytes) }));
    records.push({ record, entries });
    servers[manifest.name] = { version: '1.0.0', digest, toolsDigest: record.toolsDigest, signer: publisherKeys.fingerprint, approvals: [approvalDigest] };
    statusEntries.push({ ref: `${manifest.name}@1.0.0`, status: 'approved', digest, risk: 'low', approvals: [approvalDigest] });
  }
  fill(filler - store.size);
  const size = store.size;
  const checkpoint = signCheckpoint({ origin, size, root: treeRoot(size, store), extensions: [] }, ed25519NoteSigner(origin, logKeys.privateKey));
  const status = await signStatement(
    {
      _type: STATEMENT_TYPE,
      subject: statusEntries.map((e) => statementSubject({ name: e.ref.split('@')[0], version: '1.0.0', digest: e.digest })),
      predicateType: STATUS_PREDICATE_TYPE,
      predicate: { registry: 'http://127.0.0.1:9', issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 86_400_000).toISOString(), entries: statusEntries },
    },
    statusSigner,
  );
  for (const [kind, dir] of Object.entries(dirs)) {
    mkdirSync(join(dir, '.sigil-cache', 'records'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'root.json'), JSON.stringify(kind === 'with' ? rootWith : rootWithout));
    writeFileSync(join(dir, 'status.pub'), statusKeys.publicKeyPem);
    writeFileSync(join(dir, 'publisher.pub'), publisherKeys.publicKeyPem);
    writeFileSync(join(dir, 'reviewer.pub'), reviewerKeys.publicKeyPem);
    writeFileSync(
      join(dir, 'sigil.policy.json'),
      JSON.stringify({
        policyVersion: 1,
        registry: { url: 'http://127.0.0.1:9', trustedRoot: 'root.json', statusKey: 'status.pub' },
        publishers: [{ namespace: 'io.github.acme', publicKeys: ['publisher.pub'] }],
        reviewers: { publicKeys: ['reviewer.pub'], threshold: 1, highRiskThreshold: 2 },
      }),
    );
    for (const { record } of records) writeFileSync(join(dir, '.sigil-cache', 'records', `${digestHex(record.digest)}.json`), JSON.stringify(record), { mode: 0o600 });
    writeFileSync(join(dir, '.sigil-cache', 'status.json'), JSON.stringify(status), { mode: 0o600 });
    writeFileSync(join(dir, 'sigil.lock.json'), JSON.stringify({ lockfileVersion: 1, servers }));
    if (kind === 'with') {
      mkdirSync(join(dir, '.sigil-cache', 'proofs'));
      writeFileSync(join(dir, '.sigil-cache', 'checkpoint'), checkpoint);
      for (const { record, entries } of records) {
        const withProofs = entries.map((e) => ({ ...e, hashes: inclusionProof(e.logIndex, size, store).map(b64) }));
        writeFileSync(join(dir, '.sigil-cache', 'proofs', `${digestHex(record.digest)}.json`), JSON.stringify({ checkpoint, entries: withProofs }));
      }
    }
  }
  return dirs;
}

function timeRun(args, cwd) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return { ms, inside: JSON.parse(r.stdout).ms };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`node ${process.version}; ${runs} runs per size, interleaved; medians; log of ${filler} leaves`);
console.log('servers | wall, no log | wall, log | wall ratio | resolve() no log | resolve() log | resolve() ratio | CPU min no log | CPU min log | CPU median no log | CPU median log | CPU median ratio');

/** CPU ms of in-process offline resolutions, a fresh store each time (as a new process would have). */
async function cpu(dir, count) {
  const policy = await loadPolicy(join(dir, 'sigil.policy.json'));
  const out = [];
  for (let i = 0; i < count; i++) {
    const store = new HostTrustStore({ policy, lockfile: join(dir, 'sigil.lock.json') });
    const before = process.cpuUsage();
    await store.resolve({ offline: true });
    const d = process.cpuUsage(before);
    out.push((d.user + d.system) / 1000);
  }
  return out;
}
try {
  for (const n of (process.env.BENCH_SIZES ?? '1,10,100').split(',').map(Number)) {
    const dirs = await world(n);
    const args = [sigil, 'resolve', '--offline', '--json'];
    timeRun(args, dirs.without); // warm verified.json in both
    timeRun(args, dirs.with);
    const m = { without: { wall: [], inside: [] }, with: { wall: [], inside: [] } };
    for (let r = 0; r < runs; r++) {
      for (const kind of ['without', 'with']) {
        const t = timeRun(args, dirs[kind]);
        m[kind].wall.push(t.ms);
        m[kind].inside.push(t.inside);
      }
    }
    const c = { without: [], with: [] };
    for (let r = 0; r < 3; r++) for (const kind of ['without', 'with']) c[kind].push(...(await cpu(dirs[kind], runs)));
    const f = (x) => `${x.toFixed(1).padStart(7)} ms`;
    const [w0, w1, i0, i1] = [median(m.without.wall), median(m.with.wall), median(m.without.inside), median(m.with.inside)];
    const [c0, c1] = [median(c.without), median(c.with)];
    console.log(
      `${String(n).padStart(7)} | ${f(w0)} | ${f(w1)} | ${(w1 / w0).toFixed(2)}x | ${f(i0)} | ${f(i1)} | ${(i1 / i0).toFixed(2)}x | ${f(Math.min(...c.without))} | ${f(Math.min(...c.with))} | ${f(c0)} | ${f(c1)} | ${(c1 / c0).toFixed(2)}x`,
    );
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
