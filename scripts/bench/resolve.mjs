#!/usr/bin/env node
// Host start-up cost: `sigil resolve --offline` over 1, 10 and 100 locked servers whose
// manifests are signed with short-lived certificates + RFC 3161 timestamps (the slow path) and
// approved by a reviewer key, with a warm store, as a whole process, beside `node -e 0` and the
// raw-crypto floor (the same count of node:crypto P-256 verifies) measured in the same run.
// Target (issue 10): wall <= 2 x `node -e 0` + the floor. Also printed: the same CLI bundled by
// esbuild as `npm run pack:cli` bundles it, and what full re-verification costs (cold: no
// verified.json) next to the warm run, whose kept signature results still re-check every
// signature (see docs/resolver.md).
// Needs the workspaces built (scripts/bench/resolve does it).
// Usage: node scripts/bench/resolve.mjs [runs per size, default 7]; BENCH_SIZES=1,100 to choose.
import { spawnSync } from 'node:child_process';
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

// The CLI bundled the way `npm run pack:cli` bundles it (ESM, split per command group).
const bundled = join(work, 'bundled');
{
  const { build } = await import('esbuild');
  await build({
    entryPoints: { main: fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url)) },
    outdir: join(bundled, 'dist'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    chunkNames: '[name]-[hash]',
    logLevel: 'error',
    banner: { js: "import { createRequire as __sigilCreateRequire } from 'node:module';\nconst require = __sigilCreateRequire(import.meta.url);" },
  });
  mkdirSync(join(bundled, 'bin'));
  cpSync(fileURLToPath(new URL('../../apps/cli/bin/sigil.js', import.meta.url)), join(bundled, 'bin/sigil.js'));
  cpSync(fileURLToPath(new URL('../../apps/cli/package.json', import.meta.url)), join(bundled, 'package.json'));
}
const sigilBundled = join(bundled, 'bin/sigil.js');

const nodeStart = median(Array.from({ length: runs }, () => timeRun(['-e', '0'], work).ms));
console.log(`node ${process.version}; ${runs} runs per size; medians; node -e 0: ${nodeStart.toFixed(1)} ms`);
console.log('servers | sigil resolve --offline | bundled | target 2x node + floor | wall/target | bundled/target | inside resolve() warm | cold (re-verify all) | raw P-256 floor | warm/floor');
try {
  for (const n of (process.env.BENCH_SIZES ?? '1,10,100').split(',').map(Number)) {
    const dir = await world(n);
    const args = [sigil, 'resolve', '--offline', '--json'];
    const cold = JSON.parse(timeRun(args, dir).stdout).ms; // no verified.json yet: every chain, timestamp and signature checked
    const walls = [];
    const packed = [];
    const inside = [];
    for (let r = 0; r < runs; r++) {
      const { ms, stdout } = timeRun(args, dir);
      walls.push(ms);
      inside.push(JSON.parse(stdout).ms);
      packed.push(timeRun([sigilBundled, 'resolve', '--offline', '--json'], dir).ms);
    }
    const verifies = n * 2 + 1; // publisher + approval per server, one status
    const floor = rawVerifiesMs(verifies);
    const target = 2 * nodeStart + floor;
    const warm = median(inside);
    const f = (x) => x.toFixed(1).padStart(8);
    console.log(
      `${String(n).padStart(7)} | ${f(median(walls))} ms | ${f(median(packed))} ms | ${f(target)} ms | ${(median(walls) / target).toFixed(2)}x | ${(median(packed) / target).toFixed(2)}x | ${f(warm)} ms | ${String(cold).padStart(6)} ms | ${floor.toFixed(2).padStart(7)} ms | ${(warm / Math.max(floor, 0.01)).toFixed(1)}x`,
    );
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
