import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, digestHex, manifestDigest, sha256, toolsSetDigest, type Manifest, type StatusEntry, type VersionRecord } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement, signStatement, type KeyPair } from '@sigil/signing/sign';
import { STATEMENT_TYPE, STATUS_PREDICATE_TYPE, statementSubject } from '@sigil/signing/verify';

export interface HostWorldOptions {
  /** Status of every version in the signed status (default approved). */
  status?: 'approved' | 'pending' | 'revoked';
  /** When the status was issued (default now). */
  issuedAt?: Date;
  /** Reviewer keys that approve every version (default one reviewer). */
  approvers?: number;
}

export interface HostWorld {
  dir: string;
  policyPath: string;
  lockfilePath: string;
  publisher: KeyPair;
  reviewers: KeyPair[];
  statusKey: KeyPair;
}

/**
 * Lays out what a host has after `sigil policy init`, `sigil lock` and one online
 * `sigil resolve`: a trust policy pinning a status key, a lockfile, and the local cache with each
 * version record and a signed status, all signed with real keys. For offline host tests of
 * `sigil resolve --offline` and `sigil run`, which need no registry process.
 */
export async function buildHostWorld(dir: string, manifests: readonly Manifest[], options: HostWorldOptions = {}): Promise<HostWorld> {
  const publisher = generateKeyPair();
  const reviewers = Array.from({ length: options.approvers ?? 1 }, () => generateKeyPair());
  const statusKey = generateKeyPair();
  // As the resolver makes them (0700 directories, 0600 files): a store others can write is STORE_UNSAFE.
  mkdirSync(join(dir, '.sigil-cache', 'records'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'publisher.pub'), publisher.publicKeyPem);
  reviewers.forEach((r, i) => writeFileSync(join(dir, `reviewer-${i}.pub`), r.publicKeyPem));
  writeFileSync(join(dir, 'status.pub'), statusKey.publicKeyPem);
  writeFileSync(
    join(dir, 'root.json'),
    JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }),
  );
  const policyPath = join(dir, 'sigil.policy.json');
  writeFileSync(
    policyPath,
    JSON.stringify({
      policyVersion: 1,
      registry: { url: 'http://127.0.0.1:9', trustedRoot: 'root.json', statusKey: 'status.pub' },
      publishers: [{ namespace: '*', publicKeys: ['publisher.pub'] }],
      reviewers: { publicKeys: reviewers.map((_, i) => `reviewer-${i}.pub`), threshold: 1, highRiskThreshold: Math.min(2, reviewers.length) },
    }),
  );
  const issuedAt = options.issuedAt ?? new Date();
  const servers: Record<string, unknown> = {};
  const entries: StatusEntry[] = [];
  for (const manifest of manifests) {
    const digest = manifestDigest(manifest);
    const approvals = await Promise.all(
      reviewers.map(async (r, i) => {
        const bundle = (await signApprovalStatement(
          { name: manifest.name, version: manifest.version, digest },
          { decision: 'approved', reviewer: `reviewer-${i}`, risk: 'low' },
          createSigner({ privateKey: r.privateKeyPem }),
        )) as unknown as Record<string, unknown>;
        return { digest: sha256(canonicalJson(bundle)), reviewer: `reviewer-${i}`, bundle, createdAt: issuedAt.toISOString() };
      }),
    );
    const record: VersionRecord = {
      name: manifest.name,
      version: manifest.version,
      digest,
      toolsDigest: toolsSetDigest(manifest.tools),
      manifest,
      status: options.status ?? 'approved',
      risk: 'low',
      publisher: 'publisher',
      signer: { kind: 'key', keyFingerprint: publisher.fingerprint },
      publishedAt: issuedAt.toISOString(),
      bundle: (await signManifestStatement(manifest, createSigner({ privateKey: publisher.privateKeyPem }))) as unknown as Record<string, unknown>,
      approvals,
    };
    writeFileSync(join(dir, '.sigil-cache', 'records', `${digestHex(digest)}.json`), JSON.stringify(record), { mode: 0o600 });
    servers[manifest.name] = { version: manifest.version, digest, toolsDigest: record.toolsDigest, signer: publisher.fingerprint, approvals: approvals.map((a) => a.digest).sort() };
    entries.push({ ref: `${manifest.name}@${manifest.version}`, status: options.status ?? 'approved', digest, risk: 'low', approvals: approvals.map((a) => a.digest) });
  }
  const status = await signStatement(
    {
      _type: STATEMENT_TYPE,
      subject: manifests.map((m) => statementSubject({ name: m.name, version: m.version, digest: manifestDigest(m) })),
      predicateType: STATUS_PREDICATE_TYPE,
      predicate: { registry: 'http://127.0.0.1:9', issuedAt: issuedAt.toISOString(), expiresAt: new Date(issuedAt.getTime() + 86_400_000).toISOString(), entries },
    },
    createSigner({ privateKey: statusKey.privateKeyPem }),
  );
  writeFileSync(join(dir, '.sigil-cache', 'status.json'), JSON.stringify(status), { mode: 0o600 });
  const lockfilePath = join(dir, 'sigil.lock.json');
  writeFileSync(lockfilePath, JSON.stringify({ lockfileVersion: 1, servers }));
  return { dir, policyPath, lockfilePath, publisher, reviewers, statusKey };
}
