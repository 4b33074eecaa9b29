import type { StatusPredicate } from '@sigil/manifest';
import { createSigner, generateKeyPair, signStatement } from '@sigil/signing/sign';
import { SignerPolicy, STATEMENT_TYPE, STATUS_PREDICATE_TYPE } from '@sigil/signing/verify';
import { describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import type { TrustPolicy } from './policy.js';
import { verifyStatus } from './status.js';

const statusKey = generateKeyPair();
const NOW = new Date('2026-11-24T12:00:00.000Z');
const policy: TrustPolicy = {
  path: 'sigil.policy.json',
  registryUrl: 'http://127.0.0.1:8787',
  trustedRoot: { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] },
  statusKey: statusKey.publicKeyPem,
  publishers: [],
  reviewers: SignerPolicy.parse({ publicKeys: [] }),
  threshold: 1,
  highRiskThreshold: 2,
  maxStatusAgeMs: 24 * 3600 * 1000,
};
const hash = (c: string) => `sha256:${c.repeat(64)}` as const;

async function status(audit?: StatusPredicate['audit']) {
  const predicate: StatusPredicate = { registry: policy.registryUrl, issuedAt: '2026-11-24T11:00:00.000Z', expiresAt: '2026-11-25T11:00:00.000Z', entries: [], ...(audit ? { audit } : {}) };
  return signStatement(
    { _type: STATEMENT_TYPE, subject: [{ name: policy.registryUrl, digest: { sha256: '0'.repeat(64) } }], predicateType: STATUS_PREDICATE_TYPE, predicate: predicate as unknown as Record<string, unknown> },
    createSigner({ privateKey: statusKey.privateKeyPem }),
  );
}
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(ResolveError);
    return (e as ResolveError).code;
  }
}

describe('when the registry audit chain head moves back', () => {
  const floor = { seq: 40, hash: hash('a') };

  it('accepts the same head or a later one', async () => {
    const same = await status(floor);
    expect(outcome(() => verifyStatus(same, policy, { now: NOW, lastAudit: floor }))).toBe('accepted');
    const later = await status({ seq: 41, hash: hash('b') });
    expect(outcome(() => verifyStatus(later, policy, { now: NOW, lastAudit: floor }))).toBe('accepted');
  });

  it('refuses a lower sequence, another hash at the same one, or no head at all, as STATUS_STALE', async () => {
    for (const audit of [{ seq: 39, hash: hash('c') }, { seq: 40, hash: hash('d') }, undefined]) {
      const bundle = await status(audit);
      expect(outcome(() => verifyStatus(bundle, policy, { now: NOW, lastAudit: floor }))).toBe('STATUS_STALE');
    }
  });
});
