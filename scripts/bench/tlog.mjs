#!/usr/bin/env node
// Transparency log costs over the in-memory node store: appends per second and proof latency
// (generate + verify) at 10^3 and 10^6 leaves, beside a same-run baseline of one raw SHA-256
// per leaf body, so the ratios compare like with like on a noisy machine. Seeded: the same
// leaves and the same proof positions on every run.
// Needs @sigil/manifest and @sigil/tlog built (scripts/bench/tlog does it).
// Usage: node scripts/bench/tlog.mjs [largest tree, default 1000000] [proof samples, default 2000]
import { hash } from 'node:crypto';
import { consistencyProof, hashLeaf, inclusionProof, MemoryHashStore, verifyConsistency, verifyInclusion } from '@sigil/tlog';

const largest = Number(process.argv[2] ?? 1_000_000);
const samples = Number(process.argv[3] ?? 2000);
if (!(Number.isInteger(largest) && largest >= 1000 && largest <= 4_000_000)) throw new Error('largest tree: an integer from 1000 to 4000000');
if (!(Number.isInteger(samples) && samples >= 10 && samples <= 100_000)) throw new Error('proof samples: an integer from 10 to 100000');

const BODY_BYTES = 600; // about the size of a hashedrekord body with a P-256 key
const body = Buffer.alloc(BODY_BYTES, 0x61);
/** Leaf body i: a fixed 600-byte body with the index written in, so every leaf differs. */
function bodyAt(i) {
  body.writeUInt32BE(i >>> 0, 0);
  body.writeUInt32BE(Math.floor(i / 2 ** 32), 4);
  return body;
}

/** mulberry32: a small seeded generator, so proof positions repeat across runs. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Appends n leaves (leaf hash + node hashes) to a fresh store, and hashes the same n bodies
 * raw (the baseline), interleaved in chunks of 10,000 so both see the same machine load.
 */
function build(n) {
  const store = new MemoryHashStore();
  const CHUNK = 10_000;
  let appendNs = 0n;
  let baseNs = 0n;
  let sink = 0;
  for (let lo = 0; lo < n; lo += CHUNK) {
    const hi = Math.min(n, lo + CHUNK);
    let start = process.hrtime.bigint();
    for (let i = lo; i < hi; i++) sink ^= hash('sha256', bodyAt(i), 'buffer')[0];
    baseNs += process.hrtime.bigint() - start;
    start = process.hrtime.bigint();
    for (let i = lo; i < hi; i++) store.append(hashLeaf(bodyAt(i)));
    appendNs += process.hrtime.bigint() - start;
  }
  if (sink === 256) throw new Error('unreachable');
  return { store, appendRate: n / (Number(appendNs) / 1e9), baseRate: n / (Number(baseNs) / 1e9) };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Median and p99 in microseconds of run(input) over `samples` seeded positions, after a
 * warm-up; prepare(x) builds each input (leaf hash, old root) outside the timed part.
 */
function latency(prepare, run, seed) {
  const warm = rng(seed + 1000);
  for (let i = 0; i < 200; i++) run(prepare(warm()));
  const next = rng(seed);
  const inputs = Array.from({ length: samples }, () => prepare(next()));
  const times = [];
  for (const input of inputs) {
    const start = process.hrtime.bigint();
    run(input);
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

const sizes = [1000, largest].filter((n, i, all) => all.indexOf(n) === i);
console.log(`node ${process.version}; leaf bodies ${BODY_BYTES} bytes; ${samples} proofs per case`);
for (const n of sizes) {
  // Small trees: repeat so the timing covers at least ~0.5 s.
  const rounds = Math.max(1, Math.ceil(500_000 / n));
  let appendRate = 0;
  let baseRate = 0;
  let store;
  for (let r = 0; r < rounds; r++) {
    const built = build(n);
    appendRate += built.appendRate / rounds;
    baseRate += built.baseRate / rounds;
    store = built.store;
  }
  const root = store.root();
  const leaf = (x) => {
    const i = Math.floor(x * n);
    return { i, leafHash: hashLeaf(bodyAt(i)) };
  };
  const old = (x) => {
    const m = 1 + Math.floor(x * (n - 1));
    return { m, oldRoot: store.root(m) };
  };
  const inclusionGen = latency(leaf, ({ i }) => inclusionProof(i, n, store), 1);
  const inclusionAll = latency(leaf, ({ i, leafHash }) => verifyInclusion(i, n, leafHash, inclusionProof(i, n, store), root), 1);
  const consistencyGen = latency(old, ({ m }) => consistencyProof(m, n, store), 2);
  const consistencyAll = latency(old, ({ m, oldRoot }) => verifyConsistency(m, n, consistencyProof(m, n, store), oldRoot, root), 2);
  console.log(`\n${n.toLocaleString('en')} leaves`);
  console.log(`  raw SHA-256 per leaf body (baseline) ${baseRate.toFixed(0).padStart(10)} /s`);
  console.log(`  appends (leaf hash + tree nodes)     ${appendRate.toFixed(0).padStart(10)} /s   appends/baseline ${(appendRate / baseRate).toFixed(2)}x`);
  const row = (name, l) => console.log(`  ${name.padEnd(36)} p50 ${l.p50.toFixed(1).padStart(7)} µs   p99 ${l.p99.toFixed(1).padStart(7)} µs   p50 = ${(l.p50 * baseRate / 1e6).toFixed(1)} baseline hashes`);
  row('inclusion proof, generate', inclusionGen);
  row('inclusion proof, generate + verify', inclusionAll);
  row('consistency proof, generate', consistencyGen);
  row('consistency proof, generate + verify', consistencyAll);
}
