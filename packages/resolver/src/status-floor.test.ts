import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusPredicate } from '@sigil/manifest';
import { createSigner, generateKeyPair, signStatement } from '@sigil/signing/sign';
import { SignerPolicy, STATEMENT_TYPE, STATUS_PREDICATE_TYPE } from '@sigil/signing/verify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import type { TrustPolicy } from './policy.js';
import { verifyStatus } from './status.js';
import { HostTrustStore } from './store.js';

// The replay floor update on its own (`HostTrustStore.advanceStatus`): two processes of one host
// (two `sigil run` started together) each verified a status against the floor they read at start
// and then store it. Really signed statuses, a real store directory; the interleaving is the
// racing order of the store's steps, called directly.
const statusKey = generateKeyPair();
const NOW = new Date('2026-11-24T12:00:00.000Z');
const policy: TrustPolicy = {
  path: 'sigil.policy.json',
  registryUrl: 'http://127.0.0.1:9',
  trustedRoot: { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
  statusKey: statusKey.publicKeyPem,
  publishers: [],
  reviewers: SignerPolicy.parse({ publicKeys: [] }),
  threshold: 1,
  highRiskThreshold: 2,
  maxStatusAgeMs: 24 * 3600 * 1000,
};

async function status(issuedAt: string, nonce?: string, audit?: StatusPredicate['audit']) {
  const predicate: StatusPredicate = { registry: policy.registryUrl, issuedAt, expiresAt: '2026-11-25T11:00:00.000Z', entries: [], ...(nonce ? { nonce } : {}), ...(audit ? { audit } : {}) };
  return signStatement(
    { _type: STATEMENT_TYPE, subject: [{ name: policy.registryUrl, digest: { sha256: '0'.repeat(64) } }], predicateType: STATUS_PREDICATE_TYPE, predicate: predicate as unknown as Record<string, unknown> },
    createSigner({ privateKey: statusKey.privateKeyPem }),
  );
}
async function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'none',
    (e: unknown) => (e instanceof ResolveError ? e.code : `thrown ${String(e)}`),
  );
}

let dir: string;
/** One host process: its own store object over the host's files. */
const processOf = () => new HostTrustStore({ policy, lockfile: join(dir, 'sigil.lock.json'), now: () => NOW });
const storedBytes = () => readFileSync(join(dir, '.sigil-cache', 'status.json'), 'utf8');
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-status-floor-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('when two processes of one host store the statuses they verified', () => {
  it('keeps the newer one stored first and hands it to the process with the older answer, so a replay of the older is refused later', async () => {
    const [a, b] = [processOf(), processOf()];
    const before = await status('2026-11-24T10:00:00.000Z');
    await a.advanceStatus(before, verifyStatus(before, policy, { now: NOW }).predicate);
    // Both read the same floor at start, and each verified its own answer against it.
    const floorA = await a.storedStatus();
    const floorB = await b.storedStatus();
    const older = await status('2026-11-24T11:00:00.000Z', 'a');
    const newer = await status('2026-11-24T11:05:00.000Z', 'b');
    const verifiedA = verifyStatus(older, policy, { now: NOW, nonce: 'a', lastIssuedAt: floorA?.issuedAt });
    const verifiedB = verifyStatus(newer, policy, { now: NOW, nonce: 'b', lastIssuedAt: floorB?.issuedAt });
    // The racing order: the newer is stored first, the older after it.
    expect(await b.advanceStatus(newer, verifiedB.predicate)).toBeUndefined();
    // What `lock` writes alongside the status (its lockfile) is not written either.
    let alongside = false;
    const kept = await a.advanceStatus(older, verifiedA.predicate, async () => {
      alongside = true;
    });
    // The newer stored one comes back: the caller judges again against it (resolve) or refuses (lock).
    expect(kept?.issuedAt).toBe('2026-11-24T11:05:00.000Z');
    expect(alongside).toBe(false);
    expect(JSON.parse(storedBytes())).toEqual(newer);
    // The floor did not move back: the older status replayed to any later process is refused.
    const floor = await processOf().storedStatus();
    expect(floor?.issuedAt).toBe('2026-11-24T11:05:00.000Z');
    let replay = 'accepted';
    try {
      verifyStatus(older, policy, { now: NOW, nonce: 'a', lastIssuedAt: floor?.issuedAt });
    } catch (e) {
      replay = (e as ResolveError).code;
    }
    expect(replay).toBe('STATUS_STALE');
  });

  it('stores a newer one over an older one, and the same bytes again without a refusal', async () => {
    const [a, b] = [processOf(), processOf()];
    const older = await status('2026-11-24T11:00:00.000Z', 'a');
    const newer = await status('2026-11-24T11:05:00.000Z', 'b');
    await a.advanceStatus(older, verifyStatus(older, policy, { now: NOW }).predicate);
    await b.advanceStatus(newer, verifyStatus(newer, policy, { now: NOW }).predicate);
    expect(JSON.parse(storedBytes())).toEqual(newer);
    await a.advanceStatus(newer, verifyStatus(newer, policy, { now: NOW }).predicate);
    expect(JSON.parse(storedBytes())).toEqual(newer);
    // The lock is released each time.
    expect(existsSync(join(dir, '.sigil-cache', 'status.lock'))).toBe(false);
  });

  it('keeps the stored one of the same issue time (another answer) and lets this process go on', async () => {
    const [a, b] = [processOf(), processOf()];
    const first = await status('2026-11-24T11:00:00.000Z', 'a');
    const second = await status('2026-11-24T11:00:00.000Z', 'b');
    await a.advanceStatus(first, verifyStatus(first, policy, { now: NOW }).predicate);
    expect(await b.advanceStatus(second, verifyStatus(second, policy, { now: NOW }).predicate)).toBeUndefined();
    expect(JSON.parse(storedBytes())).toEqual(first);
  });

  it('refuses an answer whose audit chain head is behind the stored one of the same issue time (STATUS_STALE)', async () => {
    const a = processOf();
    const ahead = await status('2026-11-24T11:00:00.000Z', 'a', { seq: 41, hash: `sha256:${'b'.repeat(64)}` });
    const behind = await status('2026-11-24T11:00:00.000Z', 'b', { seq: 40, hash: `sha256:${'a'.repeat(64)}` });
    await a.advanceStatus(ahead, verifyStatus(ahead, policy, { now: NOW }).predicate);
    expect(await code(processOf().advanceStatus(behind, verifyStatus(behind, policy, { now: NOW }).predicate))).toBe('STATUS_STALE');
    expect(JSON.parse(storedBytes())).toEqual(ahead);
  });

  it('refuses a stored status that no longer verifies (STORE_INVALID) instead of writing over it', async () => {
    const a = processOf();
    const older = await status('2026-11-24T11:00:00.000Z');
    await a.advanceStatus(older, verifyStatus(older, policy, { now: NOW }).predicate);
    // Signed by another key: it no longer verifies under the pinned one.
    const forged = await signStatement(
      { _type: STATEMENT_TYPE, subject: [{ name: policy.registryUrl, digest: { sha256: '0'.repeat(64) } }], predicateType: STATUS_PREDICATE_TYPE, predicate: { registry: policy.registryUrl, issuedAt: '2026-11-24T11:10:00.000Z', expiresAt: '2026-11-25T11:00:00.000Z', entries: [] } },
      createSigner({ privateKey: generateKeyPair().privateKeyPem }),
    );
    const edited = JSON.stringify(forged);
    writeFileSync(join(dir, '.sigil-cache', 'status.json'), edited, { mode: 0o600 });
    const newer = await status('2026-11-24T11:05:00.000Z');
    expect(await code(processOf().advanceStatus(newer, verifyStatus(newer, policy, { now: NOW }).predicate))).toBe('STORE_INVALID');
    expect(storedBytes()).toBe(edited);
  });

  it('breaks a status lock left by a process that died holding it, and stores', async () => {
    const a = processOf();
    const lock = join(dir, '.sigil-cache', 'status.lock');
    const older = await status('2026-11-24T11:00:00.000Z');
    await a.advanceStatus(older, verifyStatus(older, policy, { now: NOW }).predicate);
    writeFileSync(lock, 'someone', { mode: 0o600 });
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, old, old);
    const newer = await status('2026-11-24T11:05:00.000Z');
    await a.advanceStatus(newer, verifyStatus(newer, policy, { now: NOW }).predicate);
    expect(JSON.parse(storedBytes())).toEqual(newer);
    expect(existsSync(lock)).toBe(false);
  });
});
