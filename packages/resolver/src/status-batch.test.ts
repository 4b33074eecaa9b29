import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusPredicate } from '@sigil/manifest';
import { createSigner, generateKeyPair, publicKeyFingerprint, signStatement, type KeyPair } from '@sigil/signing/sign';
import { STATEMENT_TYPE, STATUS_BATCH_PREDICATE_TYPE, STATUS_BATCH_SUBJECT, STATUS_PREDICATE_TYPE } from '@sigil/signing/verify';
import { hashLeaf, inclusionProof, MemoryHashStore } from '@sigil/tlog';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { loadPolicy } from './policy.js';
import { verifyStatus, verifyStatusSignature } from './status.js';

// The batched status (docs/resolver.md, "Batched status"): one registry signature over the
// Merkle root of the answers of a short window, each answer its statement's exact bytes and its
// inclusion proof. Batches are made here as the registry makes them (RFC 9162 hashing through
// @sigil/tlog, the batch statement signed with a real key); every way to pass off an answer the
// batch signature does not cover is SIGNATURE_INVALID, another request's answer STATUS_STALE.
const dir = mkdtempSync(join(tmpdir(), 'sigil-status-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const current = generateKeyPair();
const next = generateKeyPair();
const stranger = generateKeyPair();
for (const [name, pair] of [['current', current], ['next', next]] as const) writeFileSync(join(dir, `${name}.pub`), pair.publicKeyPem);
writeFileSync(join(dir, 'root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }));
const URL = 'http://127.0.0.1:9';
const NOW = new Date('2026-11-24T12:00:00.000Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const nonce = (i: number) => `bm9uY2UtZm9yLWFuc3dlci0${i}`;

let n = 0;
async function policy(registry: Record<string, unknown> = {}) {
  const file = join(dir, `policy-${n++}.json`);
  writeFileSync(file, JSON.stringify({ policyVersion: 1, registry: { url: URL, trustedRoot: 'root.json', statusKey: 'current.pub', ...registry }, reviewers: {} }));
  return loadPolicy(file);
}

const pinnedPolicy = await policy();

interface Answer {
  bundle: Record<string, unknown>;
  statement: string;
  proof: { index: number; treeSize: number; hashes: string[] };
}

/** The statement of one answer: what the registry would sign for nonce i. */
function statementBytes(i: number, predicateType = STATUS_PREDICATE_TYPE): Buffer {
  const predicate: StatusPredicate = {
    registry: URL,
    issuedAt: '2026-11-24T11:00:00.000Z',
    expiresAt: '2026-11-25T11:00:00.000Z',
    nonce: nonce(i),
    entries: [{ ref: 'io.github.acme/weather@1.0.0', status: 'approved', digest: DIGEST, risk: 'low', approvals: [] }],
  };
  return Buffer.from(JSON.stringify({ _type: STATEMENT_TYPE, subject: [{ name: 'io.github.acme/weather@1.0.0', digest: { sha256: 'a'.repeat(64) } }], predicateType, predicate }));
}

/** A batch of `size` answers signed by `pair`, its statement of `batchType`. */
async function batch(pair: KeyPair, size: number, options: { batchType?: string; leaf?: (i: number) => Buffer } = {}): Promise<Answer[]> {
  const leaves = Array.from({ length: size }, (_, i) => (options.leaf ?? statementBytes)(i));
  const store = new MemoryHashStore();
  for (const leaf of leaves) store.append(hashLeaf(leaf));
  const root = Buffer.from(store.root()).toString('hex');
  const bundle = (await signStatement(
    { _type: STATEMENT_TYPE, subject: [{ name: STATUS_BATCH_SUBJECT, digest: { sha256: root } }], predicateType: options.batchType ?? STATUS_BATCH_PREDICATE_TYPE, predicate: { treeSize: size } },
    createSigner({ privateKey: pair.privateKeyPem }),
  )) as unknown as Record<string, unknown>;
  return leaves.map((leaf, index) => ({ bundle, statement: leaf.toString('base64'), proof: { index, treeSize: size, hashes: inclusionProof(index, size, store).map((h) => Buffer.from(h).toString('hex')) } }));
}

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    return e instanceof ResolveError ? e.code : `thrown ${String(e)}`;
  }
}

describe('when the registry answers a status in a batch', () => {
  it('accepts each answer of the batch for its own nonce', async () => {
    const pinned = pinnedPolicy;
    const answers = await batch(current, 5);
    answers.forEach((a, i) => {
      const status = verifyStatus(a, pinned, { now: NOW, nonce: nonce(i) });
      expect(status.entries.get('io.github.acme/weather@1.0.0')).toMatchObject({ status: 'approved', digest: DIGEST });
    });
    // A batch of one: the root is the leaf, the path empty.
    const [alone] = await batch(current, 1);
    expect(alone!.proof.hashes).toEqual([]);
    expect(outcome(() => verifyStatus(alone, pinned, { now: NOW, nonce: nonce(0) }))).toBe('accepted');
  });

  it('refuses an answer with the proof of another answer (SIGNATURE_INVALID)', async () => {
    const [a, b] = await batch(current, 5);
    expect(outcome(() => verifyStatus({ ...a!, proof: b!.proof }, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a tampered leaf (SIGNATURE_INVALID)', async () => {
    const [a] = await batch(current, 5);
    const tampered = Buffer.from(a!.statement, 'base64').toString().replace('"approved"', '"revoked"');
    expect(tampered).toContain('"revoked"');
    expect(outcome(() => verifyStatus({ ...a!, statement: Buffer.from(tampered).toString('base64') }, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a wrong tree size, a changed path hash, a path too short or too long (SIGNATURE_INVALID)', async () => {
    const [, , a] = await batch(current, 5);
    const check = (proof: Answer['proof']) => outcome(() => verifyStatus({ ...a!, proof }, pinnedPolicy, { now: NOW, nonce: nonce(2) }));
    expect(check({ ...a!.proof, treeSize: 4 })).toBe('SIGNATURE_INVALID');
    expect(check({ ...a!.proof, treeSize: 6 })).toBe('SIGNATURE_INVALID');
    expect(check({ ...a!.proof, index: 3 })).toBe('SIGNATURE_INVALID');
    expect(check({ ...a!.proof, hashes: [a!.proof.hashes[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0')), ...a!.proof.hashes.slice(1)] })).toBe('SIGNATURE_INVALID');
    expect(check({ ...a!.proof, hashes: a!.proof.hashes.slice(1) })).toBe('SIGNATURE_INVALID');
    expect(check({ ...a!.proof, hashes: [...a!.proof.hashes, a!.proof.hashes[0]!] })).toBe('SIGNATURE_INVALID');
    expect(check(a!.proof)).toBe('accepted');
  });

  it('refuses an answer of this batch replayed to another request (STATUS_STALE: its nonce differs)', async () => {
    const [a] = await batch(current, 5);
    expect(outcome(() => verifyStatus(a, pinnedPolicy, { now: NOW, nonce: nonce(1) }))).toBe('STATUS_STALE');
  });

  it('refuses a statement under the signature of another batch (SIGNATURE_INVALID)', async () => {
    const [a] = await batch(current, 5);
    const [other] = await batch(current, 5, { leaf: (i) => statementBytes(i + 10) });
    expect(outcome(() => verifyStatus({ ...a!, bundle: other!.bundle }, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a batch signed by another key, or a signed statement of another type posing as a batch (SIGNATURE_INVALID)', async () => {
    const [forged] = await batch(stranger, 3);
    expect(outcome(() => verifyStatus(forged, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
    // The registry's signature over a status statement is not a batch root, whatever its subject.
    const [posing] = await batch(current, 3, { batchType: STATUS_PREDICATE_TYPE });
    expect(outcome(() => verifyStatus(posing, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
    // A leaf that is not a status statement.
    const [notStatus] = await batch(current, 3, { leaf: (i) => statementBytes(i, 'https://sigil.dev/attestation/approval/v1') });
    expect(outcome(() => verifyStatus(notStatus, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a batched answer that is not {bundle, statement, proof} (RESPONSE_INVALID)', async () => {
    const [a] = await batch(current, 2);
    const { statement: _s, ...noStatement } = a!;
    expect(outcome(() => verifyStatus(noStatement, pinnedPolicy, { now: NOW }))).toBe('RESPONSE_INVALID');
    expect(outcome(() => verifyStatus({ ...a!, extra: 1 }, pinnedPolicy, { now: NOW }))).toBe('RESPONSE_INVALID');
    expect(outcome(() => verifyStatus({ ...a!, proof: { ...a!.proof, hashes: ['zz'] } }, pinnedPolicy, { now: NOW }))).toBe('RESPONSE_INVALID');
  });

  it('verifies a batch signed by the announced next key during a rotation, and loads a stored batched answer as the floor', async () => {
    const overlap = await policy({ nextStatusKey: 'next.pub', nextStatusKeyFingerprint: publicKeyFingerprint(next.publicKeyPem) });
    const [a] = await batch(next, 4);
    expect(outcome(() => verifyStatus(a, overlap, { now: NOW, nonce: nonce(0) }))).toBe('accepted');
    expect(outcome(() => verifyStatus(a, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('SIGNATURE_INVALID');
    // Stored as received (JSON), then read back as the replay floor.
    expect(verifyStatusSignature(JSON.parse(JSON.stringify(a)), overlap).nonce).toBe(nonce(0));
  });

  it('still accepts a status signed on its own (every status stored before batching)', async () => {
    const single = await signStatement({ _type: STATEMENT_TYPE, ...JSON.parse(statementBytes(0).toString()) }, createSigner({ privateKey: current.privateKeyPem }));
    expect(outcome(() => verifyStatus(single, pinnedPolicy, { now: NOW, nonce: nonce(0) }))).toBe('accepted');
  });
});
