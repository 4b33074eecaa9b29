#!/usr/bin/env node
// Host start-up cost: `sigil resolve --offline` over 1, 10 and 100 locked servers whose
// manifests are signed with short-lived certificates (one per server) + RFC 3161 timestamps and
// approved by a reviewer key, with a warm store (and a warm code cache: the installed CLI run once
// first), as a whole process, beside `node -e 0` and the
// raw-crypto floor (the same count of node:crypto P-256 verifies) measured in the same run.
// Target (issue 10): wall <= 2 x `node -e 0` + the floor, printed as one goal line per size for
// the CLI as installed (`npm run pack:cli`'s tarball installed with npm into a prefix: the
// bundled CLI a host runs); the workspace CLI (unbundled, as `npx sigil` in the checkout) beside
// it. Also printed: what full re-verification costs (cold: no verified.json) next to the warm
// run, whose kept signature results are sealed by this host (the bench's own XDG_STATE_HOME), so
// they are not checked again (docs/resolver.md, "Sealed signature results").
// Needs the workspaces built (scripts/bench/resolve does it) and npm (offline is enough).
// Usage: node scripts/bench/resolve.mjs [runs per size, default 7]; BENCH_SIZES=1,100 to choose.
import { execFileSync, spawnSync } from 'node:child_process';
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
const identity = 'mailto:release@acme.example';
// A certificate of its own for each server's release, as a Sigstore CA (Fulcio) issues one per
// signing: a host then parses, fingerprints and checks the issuer's signature of one leaf per
// locked server. BENCH_SHARED_LEAF=1: one certificate for every server (this bench before
// 2026-12, which left those costs out).
const sharedLeaf = process.env.BENCH_SHARED_LEAF === '1';
function publisherFor() {
  const keys = generateKeyPair();
  const certificate = issueLeaf(ca, { publicKey: keys.publicKeyPem, identity });
  return { keys, signer: createSigner({ privateKey: keys.privateKeyPem, certificate, timestamp: { responder } }) };
}
const shared = publisherFor();
const reviewerKeys = generateKeyPair();
const reviewer = createSigner({ privateKey: reviewerKeys.privateKeyPem });
const statusKeys = generateKeyPair();
const statusSigner = createSigner({ privateKey: statusKeys.privateKeyPem });
const trustedRoot = buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem }] });

async function world(n) {
  const dir = join(work, `n${n}`);
  mkdirSync(join(dir, '.sigil-cache', 'records'), { recursive: true, mode: 0o700 });
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
    const { keys: publisherKeys, signer: publisher } = sharedLeaf ? shared : publisherFor();
    const bundle = await signManifestStatement(manifest, publisher);
    const approval = await signApprovalStatement({ name: manifest.name, version: '1.0.0', digest }, { decision: 'approved', reviewer: 'alice', risk: 'low' }, reviewer);
    const approvalDigest = sha256(canonicalJson(approval));
    const record = {
      name: manifest.name, version: '1.0.0', digest, toolsDigest: toolsSetDigest(manifest.tools), manifest, status: 'approved', risk: 'low',
      publisher: 'acme-ci', signer: { kind: 'certificate', keyFingerprint: publisherKeys.fingerprint, identity }, publishedAt: now.toISOString(),
      bundle, approvals: [{ digest: approvalDigest, reviewer: 'alice', bundle: approval, createdAt: now.toISOString() }],
    };
    // As HostTrustStore stores a verified record: its canonical JSON.
    writeFileSync(join(dir, '.sigil-cache', 'records', `${digestHex(digest)}.json`), canonicalJson(record), { mode: 0o600 });
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
  writeFileSync(join(dir, '.sigil-cache', 'status.json'), JSON.stringify(status), { mode: 0o600 });
  writeFileSync(join(dir, 'sigil.lock.json'), JSON.stringify({ lockfileVersion: 1, servers }));
  return dir;
}

// Every process is timed without NODE_EXTRA_CA_CERTS. Node reads that file (and builds its whole
// root store) at start, before any script runs: on a machine whose environment names the system's
// 220 kB bundle it adds about 45 ms to every process, `node -e 0` as much as sigil, so inside
// "2 x node -e 0" it would hide as much of sigil's own cost. Its effect is printed apart.
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
const childEnv = { ...process.env };
delete childEnv.NODE_EXTRA_CA_CERTS;

function timeRun(args, cwd, file = process.execPath, extraEnv = {}) {
  const cpu0 = childCpuMs();
  const start = process.hrtime.bigint();
  // The bench's own cache folder: the installed CLI keeps V8's compiled code there (a warm start
  // is one after the first run of the command), apart from the user's and other runs' caches.
  const env = { ...childEnv, ...extraEnv, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, XDG_STATE_HOME: join(work, 'state') };
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return { ms, cpu: cpu0 === undefined ? undefined : childCpuMs() - cpu0, stdout: r.stdout };
}

/**
 * User + system CPU of this process's waited-for children so far (Linux: cutime + cstime of
 * /proc/self/stat, in clock ticks of 10 ms), or undefined elsewhere. On a loaded machine a
 * process's CPU time moves much less than its wall time, so it is printed beside it.
 */
function childCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10; // fields 16 and 17 of proc(5), USER_HZ 100
  } catch {
    return undefined;
  }
}
const mean = (xs) => (xs.includes(undefined) ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const raw = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const data = Buffer.alloc(512, 7);
const signature = createSign('sha256').update(data).sign(raw.privateKey);
/**
 * The raw-crypto floor of `count` verifies: median wall time and median CPU time (user + system of
 * this process) over the runs. The CPU goal line adds the CPU floor: on a loaded machine the wall
 * floor grows with the load (6x at a load average of 20) while the processes' CPU times do not, so
 * a wall floor inside a CPU target would make an unmet goal look met.
 */
function rawVerifiesMs(count) {
  const walls = [];
  const cpus = [];
  for (let r = 0; r < runs; r++) {
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) if (!createVerify('sha256').update(data).verify(raw.publicKey, signature)) throw new Error('raw verify failed');
    walls.push(Number(process.hrtime.bigint() - start) / 1e6);
    const used = process.cpuUsage(cpu0);
    cpus.push((used.user + used.system) / 1000);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

// The CLI as a user installs it: `npm run pack:cli`'s tarball (apps/cli/scripts/pack.mjs, the
// bundled CLI), installed with npm into a prefix outside the checkout, run through the `sigil`
// that npm linked into <prefix>/bin (what a host configuration names).
const packDir = join(work, 'pack');
const prefix = join(work, 'prefix');
mkdirSync(packDir);
execFileSync(process.execPath, [fileURLToPath(new URL('../../apps/cli/scripts/pack.mjs', import.meta.url)), '--out', packDir], { stdio: 'ignore' });
const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz')));
execFileSync('npm', ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], { stdio: 'ignore', cwd: work, env: { ...process.env, npm_config_offline: 'true' } });
const installed = join(prefix, 'bin', 'sigil');

const nodeStart = median(Array.from({ length: runs }, () => timeRun(['-e', '0'], work).ms));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`node ${process.version}; ${runs} runs per size; medians; load average ${load()}; node -e 0: ${nodeStart.toFixed(1)} ms`);
if (extraCaCerts) {
  const withCerts = median(Array.from({ length: runs }, () => timeRun(['-e', '0'], work, process.execPath, { NODE_EXTRA_CA_CERTS: extraCaCerts }).ms));
  console.log(`NODE_EXTRA_CA_CERTS is set here (${extraCaCerts}): node -e 0 takes ${withCerts.toFixed(1)} ms with it; every process below runs without it (it costs any Node process the same, before sigil's code)`);
}
console.log('servers | workspace CLI | installed CLI | target 2x node + floor | workspace/target | installed/target | inside resolve() warm | cold (re-verify all) | raw P-256 floor | warm/floor');
const goals = [];
try {
  for (const n of (process.env.BENCH_SIZES ?? '1,10,100').split(',').map(Number)) {
    const dir = await world(n);
    const args = ['resolve', '--offline', '--json'];
    const cold = JSON.parse(timeRun([sigil, ...args], dir).stdout).ms; // no verified.json yet: every chain, timestamp and signature checked
    timeRun(args, dir, installed); // warm: the installed CLI's code cache for `resolve` written
    const walls = [];
    const packed = [];
    const inside = [];
    const nodes = [];
    const cpu = { node: [], installed: [] };
    for (let r = 0; r < runs; r++) {
      // Interleaved, with node -e 0 in the same rounds, so a change of load hits all alike.
      const bare = timeRun(['-e', '0'], work);
      nodes.push(bare.ms);
      cpu.node.push(bare.cpu);
      const { ms, stdout } = timeRun([sigil, ...args], dir);
      walls.push(ms);
      inside.push(JSON.parse(stdout).ms);
      const linked = timeRun(args, dir, installed); // the linked bin, started by its #! line
      packed.push(linked.ms);
      cpu.installed.push(linked.cpu);
    }
    // Per server the publisher's and the reviewer's signatures, and the leaf certificate's by its
    // CA (once per distinct leaf); one status.
    const verifies = n * 2 + (sharedLeaf ? 1 : n) + 1;
    const { wall: floor, cpu: cpuFloor } = rawVerifiesMs(verifies);
    const node = median(nodes);
    const target = 2 * node + floor;
    const warm = median(inside);
    const f = (x) => x.toFixed(1).padStart(8);
    console.log(
      `${String(n).padStart(7)} | ${f(median(walls))} ms | ${f(median(packed))} ms | ${f(target)} ms | ${(median(walls) / target).toFixed(2)}x | ${(median(packed) / target).toFixed(2)}x | ${f(warm)} ms | ${String(cold).padStart(6)} ms | ${floor.toFixed(2).padStart(7)} ms | ${(warm / Math.max(floor, 0.01)).toFixed(1)}x`,
    );
    goals.push({ n, node, floor, cpuFloor, target, workspace: median(walls), installed: median(packed), cpuNode: mean(cpu.node), cpuInstalled: mean(cpu.installed) });
  }
  // The goal of issue 10, one line per size: the installed CLI (what a host runs), warm store.
  for (const g of goals) {
    const ratio = g.installed / g.target;
    console.log(
      `goal ${String(g.n).padStart(3)} server(s): installed sigil resolve --offline ${g.installed.toFixed(1)} ms <= 2 x node -e 0 (${g.node.toFixed(1)} ms) + floor (${g.floor.toFixed(2)} ms) = ${g.target.toFixed(1)} ms: ${ratio.toFixed(2)}x, ${ratio <= 1 ? 'met' : 'NOT met'} (workspace CLI ${(g.workspace / g.target).toFixed(2)}x)`,
    );
    if (g.cpuNode !== undefined) {
      const cpuTarget = 2 * g.cpuNode + g.cpuFloor;
      console.log(`     same in CPU time (user+sys, mean): installed ${g.cpuInstalled.toFixed(0)} ms, 2 x node -e 0 (${g.cpuNode.toFixed(0)} ms) + floor (${g.cpuFloor.toFixed(1)} ms of CPU) = ${cpuTarget.toFixed(0)} ms: ${(g.cpuInstalled / cpuTarget).toFixed(2)}x`);
    }
  }
  console.log(`load average at the end: ${load()}`);
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
