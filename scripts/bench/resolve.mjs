#!/usr/bin/env node
// Host start-up cost: `sigil resolve --offline` over 1, 10 and 100 locked servers whose
// manifests are signed with short-lived certificates + RFC 3161 timestamps (the slow path) and
// approved by a reviewer key, with a warm local cache, beside the raw-crypto floor measured in
// the same run (the same count of node:crypto P-256 verifies) and a bare `node` start.
// Needs the workspaces built (scripts/bench/resolve does it).
// Usage: node scripts/bench/resolve.mjs [runs per size, default 7]
import { spawnSync } from 'node:child_process';
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifestDigest, toolsSetDigest, canonicalJson, sha256, digestHex } from '@sigil/manifest';
import { buildTrustedRoot, createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, signApprovalStatement, signManifestStatement, signStatement } from '@sigil/signing/sign';
import { STATEMENT_TYPE, STATUS_PREDICATE_TYPE, statementSubject } from '@sigil/signing/verify';

const runs = Number(process.argv[2] ?? 7);
if (!(Number.isInteger(runs) && runs > 0 && runs <= 100)) throw new Error('runs per size: a whole number from 1 to 100');
const sigil = fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-resolve-'));

const ca = createCa({ name: 'Bench CA' });
const tsa = createTsa(ca);
const responder = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
const publisherKeys = generateKeyPair();
const identity = 'mailto:release@acme.example';
const certificate = issueLeaf(ca, { publicKey: publisherKeys.publicKeyPem, identity });
const publisher = createSigner({ privateKey: publisherKeys.privateKeyPem, certificate, timestamp: { responder } });
const reviewerKeys = generateKeyPair();
const reviewer = createSigner({ privateKey: reviewerKeys.privateKeyPem });
const statusKeys = generateKeyPair();
const statusSigner = createSigner({ privateKey: statusKeys.privateKeyPem });
const trustedRoot = buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem }] });

async function world(n) {
  const dir = join(work, `n${n}`);
  mkdirSync(join(dir, '.sigil-cache', 'records'), { recursive: true });
  writeFileSync(join(dir, 'root.json'), JSON.stringify(trustedRoot));
  writeFileSync(join(dir, 'status.pub'), statusKeys.publicKeyPem);
  writeFileSync(join(dir, 'reviewer.pub'), reviewerKeys.publicKeyPem);
  writeFileSync(
    join(dir, 'sigil.policy.json'),
    JSON.stringify({
      policyVersion: 1,
      registry: { url: 'http://127.0.0.1:9', trustedRoot: 'root.json', statusKey: 'status.pub' },
      publishers: [{ namespace: 'io.github.acme', identities: [{ identity }] }],
      reviewers: { publicKeys: ['reviewer.pub'], threshold: 1, highRiskThreshold: 2 },
    }),
  );
  const servers = {};
  const entries = [];
  const now = new Date();
  for (let i = 0; i < n; i++) {
    const manifest = {
      name: `io.github.acme/server-${i}`,
      description: `Bench server ${i}`,
      version: '1.0.0',
      tools: Array.from({ length: 8 }, (_, t) => ({
        name: `tool_${t}`,
        description: `Looks up item ${t} of server ${i}.`,
        inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        annotations: { readOnlyHint: true },
      })),
    };
    const digest = manifestDigest(manifest);
    const bundle = await signManifestStatement(manifest, publisher);
    const approval = await signApprovalStatement({ name: manifest.name, version: '1.0.0', digest }, { decision: 'approved', reviewer: 'alice', risk: 'low' }, reviewer);
    const approvalDigest = sha256(canonicalJson(approval));
    const record = {
      name: manifest.name, version: '1.0.0', digest, toolsDigest: toolsSetDigest(manifest.tools), manifest, status: 'approved', risk: 'low',
      publisher: 'acme-ci', signer: { kind: 'certificate', keyFingerprint: publisherKeys.fingerprint, identity }, publishedAt: now.toISOString(),
      bundle, approvals: [{ digest: approvalDigest, reviewer: 'alice', bundle: approval, createdAt: now.toISOString() }],
    };
    writeFileSync(join(dir, '.sigil-cache', 'records', `${digestHex(digest)}.json`), JSON.stringify(record));
    servers[manifest.name] = { version: '1.0.0', digest, toolsDigest: record.toolsDigest, signer: identity, approvals: [approvalDigest] };
    entries.push({ ref: `${manifest.name}@1.0.0`, status: 'approved', digest, risk: 'low', approvals: [approvalDigest] });
  }
  const status = await signStatement(
    {
      _type: STATEMENT_TYPE,
      subject: entries.map((e) => statementSubject({ name: e.ref.split('@')[0], version: '1.0.0', digest: e.digest })),
      predicateType: STATUS_PREDICATE_TYPE,
      predicate: { registry: 'http://127.0.0.1:9', issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 86_400_000).toISOString(), entries },
    },
    statusSigner,
  );
  writeFileSync(join(dir, '.sigil-cache', 'status.json'), JSON.stringify(status));
  writeFileSync(join(dir, 'sigil.lock.json'), JSON.stringify({ lockfileVersion: 1, servers }));
  return dir;
}

function timeRun(args, cwd) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const raw = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const data = Buffer.alloc(512, 7);
const signature = createSign('sha256').update(data).sign(raw.privateKey);
function rawVerifiesMs(count) {
  const times = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) if (!createVerify('sha256').update(data).verify(raw.publicKey, signature)) throw new Error('raw verify failed');
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

const nodeStart = median(Array.from({ length: runs }, () => timeRun(['-e', ''], work).ms));
console.log(`node ${process.version}; ${runs} runs per size; medians; bare node start ${nodeStart.toFixed(1)} ms`);
console.log('servers | sigil resolve --offline wall | beyond node start | inside resolve() | cold (first) resolve() | raw P-256 x(servers*2+1) | resolve()/raw');
try {
  for (const n of [1, 10, 100]) {
    const dir = await world(n);
    const args = [sigil, 'resolve', '--offline', '--json'];
    const cold = JSON.parse(timeRun(args, dir).stdout).ms; // fills the persisted verification cache
    const walls = [];
    const inside = [];
    for (let r = 0; r < runs; r++) {
      const { ms, stdout } = timeRun(args, dir);
      walls.push(ms);
      inside.push(JSON.parse(stdout).ms);
    }
    const verifies = n * 2 + 1; // publisher + approval per server, one status
    const floor = rawVerifiesMs(verifies);
    const work = median(inside);
    console.log(
      `${String(n).padStart(7)} | ${median(walls).toFixed(1).padStart(10)} ms | ${(median(walls) - nodeStart).toFixed(1).padStart(8)} ms | ${work.toFixed(1).padStart(8)} ms | ${String(cold).padStart(8)} ms | ${floor.toFixed(2).padStart(8)} ms | ${(work / Math.max(floor, 0.01)).toFixed(1)}x`,
    );
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
