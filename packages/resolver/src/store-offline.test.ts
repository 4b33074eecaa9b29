import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex, type Digest } from '@sigil/manifest';
import { buildHostWorld, weatherManifest, type HostWorld } from '@sigil/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import type { Lockfile } from './lockfile.js';
import { loadPolicy } from './policy.js';
import { HostTrustStore } from './store.js';

// HostTrustStore offline, over a host world of real files: records and a status signed with real
// keys, as `sigil lock` leaves them (@sigil/testing's buildHostWorld). What the lock pins and what
// the store holds are held to what a start verifies.
const root = mkdtempSync(join(tmpdir(), 'sigil-store-offline-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const WEATHER = 'io.github.acme/weather';
const OTHER = 'io.github.acme/other';
let n = 0;

async function world(approvers = 1): Promise<HostWorld> {
  return buildHostWorld(join(root, `world-${n++}`), [weatherManifest({ name: WEATHER }), weatherManifest({ name: OTHER })], { approvers });
}
async function offline(w: HostWorld): Promise<unknown> {
  const store = new HostTrustStore({ policy: await loadPolicy(w.policyPath), lockfile: w.lockfilePath });
  return store.resolve({ offline: true }).catch((e: unknown) => e);
}
/** The refusals of a start, as [name, code] pairs; `none` when it resolved. */
function refused(outcome: unknown): Array<[string, string]> | 'none' {
  if (!(outcome instanceof ResolveError)) return 'none';
  return outcome.refusals.map((r) => [r.name, r.code]);
}
function readLock(w: HostWorld): Lockfile {
  return JSON.parse(readFileSync(w.lockfilePath, 'utf8')) as Lockfile;
}
function writeLock(w: HostWorld, lock: Lockfile): void {
  writeFileSync(w.lockfilePath, JSON.stringify(lock));
}

describe('when the lock pins approvals (docs/resolver.md: each counted against the lock and the status)', () => {
  it('resolves when each pinned approval counts, all of them or some', async () => {
    const w = await world(2);
    expect(refused(await offline(w))).toBe('none');
    const lock = readLock(w);
    lock.servers[WEATHER]!.approvals = lock.servers[WEATHER]!.approvals.slice(1);
    writeLock(w, lock);
    expect(refused(await offline(w))).toBe('none');
  });

  it('refuses a pinned approval that is no approval of the record (NOT_APPROVED), that server only', async () => {
    const w = await world();
    const lock = readLock(w);
    lock.servers[WEATHER]!.approvals = [`sha256:${'0'.repeat(64)}`];
    writeLock(w, lock);
    expect(refused(await offline(w))).toEqual([[WEATHER, 'NOT_APPROVED']]);
  });

  it('refuses a pinned approval whose reviewer left the policy (NOT_APPROVED), though the other reviewer suffices', async () => {
    const w = await world(2);
    const policy = JSON.parse(readFileSync(w.policyPath, 'utf8')) as { reviewers: { publicKeys: string[]; highRiskThreshold: number } };
    policy.reviewers.publicKeys = ['reviewer-0.pub'];
    policy.reviewers.highRiskThreshold = 1;
    writeFileSync(w.policyPath, JSON.stringify(policy));
    expect(refused(await offline(w))).toEqual([[OTHER, 'NOT_APPROVED'], [WEATHER, 'NOT_APPROVED']]);
  });
});

describe('when a stored record is corrupted (offline, the store is at fault, not the registry)', () => {
  // Each was blamed on the registry: NAME_MISMATCH "the registry answered about…" for another
  // server's record, RESPONSE_INVALID for a truncated one, REGISTRY_UNREACHABLE "the store holds no
  // copy" for one past the size bound.
  it('refuses another server\'s record swapped in, a truncated one and a huge one with STORE_INVALID naming the file', async () => {
    const w = await world();
    const lock = readLock(w);
    const recordOf = (name: string) => join(w.dir, '.sigil-cache', 'records', `${digestHex(lock.servers[name]!.digest as Digest)}.json`);
    // Another manifest for OTHER: its record lives in a file of its own.
    expect(recordOf(OTHER)).not.toBe(recordOf(WEATHER));
    const genuine = readFileSync(recordOf(WEATHER), 'utf8');
    const corruptions: Array<[string, string]> = [
      ['swapped', readFileSync(recordOf(OTHER), 'utf8')],
      ['truncated', genuine.slice(0, genuine.length >> 1)],
      ['huge', ' '.repeat(5 * 1024 * 1024)],
    ];
    for (const [label, text] of corruptions) {
      writeFileSync(recordOf(WEATHER), text);
      const outcome = await offline(w);
      expect(refused(outcome), label).toEqual([[WEATHER, 'STORE_INVALID']]);
      expect((outcome as ResolveError).refusals[0]!.message, label).toContain(recordOf(WEATHER));
    }
    writeFileSync(recordOf(WEATHER), genuine);
    expect(refused(await offline(w))).toBe('none');
  });
});
