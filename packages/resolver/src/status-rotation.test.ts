import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusPredicate } from '@sigil/manifest';
import { createSigner, generateKeyPair, publicKeyFingerprint, signStatement, type KeyPair } from '@sigil/signing/sign';
import { STATEMENT_TYPE, STATUS_PREDICATE_TYPE } from '@sigil/signing/verify';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { loadPolicy } from './policy.js';
import { verifyStatus } from './status.js';

// A status-key rotation with an overlap (docs/deploy.md, "Rotation"): while the policy names the
// announced next key beside the current one, a status signed by either verifies; any other key
// is SIGNATURE_INVALID, and a next key that is not the pinned fingerprint is POLICY_INVALID.
const dir = mkdtempSync(join(tmpdir(), 'sigil-status-rotation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const current = generateKeyPair();
const next = generateKeyPair();
const stranger = generateKeyPair();
for (const [name, pair] of [['current', current], ['next', next]] as const) writeFileSync(join(dir, `${name}.pub`), pair.publicKeyPem);
writeFileSync(join(dir, 'root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }));
const URL = 'http://127.0.0.1:9';
const NOW = new Date('2026-11-24T12:00:00.000Z');

let n = 0;
async function policy(registry: Record<string, unknown>) {
  const file = join(dir, `policy-${n++}.json`);
  writeFileSync(file, JSON.stringify({ policyVersion: 1, registry: { url: URL, trustedRoot: 'root.json', statusKey: 'current.pub', ...registry }, reviewers: {} }));
  return loadPolicy(file);
}
async function statusBy(pair: KeyPair) {
  const predicate: StatusPredicate = { registry: URL, issuedAt: '2026-11-24T11:00:00.000Z', expiresAt: '2026-11-25T11:00:00.000Z', entries: [] };
  return signStatement(
    { _type: STATEMENT_TYPE, subject: [{ name: URL, digest: { sha256: '0'.repeat(64) } }], predicateType: STATUS_PREDICATE_TYPE, predicate: predicate as unknown as Record<string, unknown> },
    createSigner({ privateKey: pair.privateKeyPem }),
  );
}
async function outcome(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'accepted';
  } catch (e) {
    return e instanceof ResolveError ? e.code : `thrown ${String(e)}`;
  }
}

describe('when the registry rotates its status key', () => {
  it('accepts only the pinned key without a next key', async () => {
    const pinned = await policy({});
    expect(await outcome(async () => verifyStatus(await statusBy(current), pinned, { now: NOW }))).toBe('accepted');
    expect(await outcome(async () => verifyStatus(await statusBy(next), pinned, { now: NOW }))).toBe('SIGNATURE_INVALID');
  });

  it('accepts the current and the announced next key during the overlap, and no other', async () => {
    const overlap = await policy({ nextStatusKey: 'next.pub', nextStatusKeyFingerprint: publicKeyFingerprint(next.publicKeyPem) });
    expect(await outcome(async () => verifyStatus(await statusBy(current), overlap, { now: NOW }))).toBe('accepted');
    expect(await outcome(async () => verifyStatus(await statusBy(next), overlap, { now: NOW }))).toBe('accepted');
    const refused = await outcome(async () => verifyStatus(await statusBy(stranger), overlap, { now: NOW }));
    expect(refused).toBe('SIGNATURE_INVALID');
  });

  it('refuses a next key that is not the announced one (POLICY_INVALID)', async () => {
    expect(await outcome(policy({ nextStatusKey: 'next.pub', nextStatusKeyFingerprint: publicKeyFingerprint(stranger.publicKeyPem) }))).toBe('POLICY_INVALID');
    writeFileSync(join(dir, 'garbage.pub'), 'not a key');
    expect(await outcome(policy({ nextStatusKey: 'garbage.pub' }))).toBe('POLICY_INVALID');
  });
});
