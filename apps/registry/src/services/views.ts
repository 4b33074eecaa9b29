import { approvalsOf, serverByName, versionOf, versionsOf, type VersionRow } from '@sigil/db';
import { parseReference, type ServerRecord, type VersionRecord } from '@sigil/manifest';
import type { Deps, LintFinding } from '../deps.js';
import { ServiceError } from '../errors.js';
import { withLogEntry } from './attach-log-entry.js';

/** The wire view of a stored version: everything a host needs to verify it again itself. */
export function versionRecord(deps: Deps, row: VersionRow): VersionRecord {
  return {
    name: row.server,
    version: row.version,
    digest: row.digest as VersionRecord['digest'],
    toolsDigest: row.toolsDigest as VersionRecord['toolsDigest'],
    manifest: JSON.parse(row.manifest) as VersionRecord['manifest'],
    status: row.status,
    risk: row.risk,
    publisher: row.publisher,
    signer: { kind: row.signerKind, keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}) },
    publishedAt: row.publishedAt,
    // The publisher's bundle with its transparency log entry, once a checkpoint covers it.
    bundle: withLogEntry(deps, 'manifest', `${row.server}@${row.version}`, JSON.parse(row.bundle) as Record<string, unknown>),
    ...(row.provenance ? { provenance: JSON.parse(row.provenance) as Record<string, unknown> } : {}),
    approvals: approvalsOf(deps.db, row.id).map((a) => ({ digest: a.digest as VersionRecord['digest'], reviewer: a.reviewer, bundle: JSON.parse(a.bundle) as Record<string, unknown>, createdAt: a.createdAt })),
    ...(row.rejectedAt ? { rejection: { reason: row.rejectionReason ?? '', by: row.rejectedBy ?? '', at: row.rejectedAt } } : {}),
    ...(row.revokedAt ? { revocation: { reason: row.revocationReason ?? '', by: row.revokedBy ?? '', at: row.revokedAt } } : {}),
  };
}

export function findings(row: VersionRow): LintFinding[] {
  return JSON.parse(row.findings) as LintFinding[];
}

/** The stored version `name@version`, or NOT_FOUND. */
export function requireVersion(deps: Deps, name: string, version: string): VersionRow {
  const row = versionOf(deps.db, name, version);
  if (!row) throw new ServiceError('NOT_FOUND', `no version ${name}@${version}`);
  return row;
}

export function getVersion(deps: Deps, name: string, version: string): VersionRecord {
  return versionRecord(deps, requireVersion(deps, name, version));
}

/**
 * The version record as JSON text, built from the database on every read: the database is the
 * one source of truth, so a row changed behind the registry's back is served as it is and a
 * host's pin refuses it (a cache here would hide that until a restart).
 */
export function getVersionJson(deps: Deps, name: string, version: string): string {
  return JSON.stringify(getVersion(deps, name, version));
}

export function getServer(deps: Deps, name: string): ServerRecord {
  if (!serverByName(deps.db, name)) throw new ServiceError('NOT_FOUND', `no server ${name}`);
  return {
    name,
    versions: versionsOf(deps.db, name).map((v) => ({ version: v.version, digest: v.digest as VersionRecord['digest'], status: v.status, risk: v.risk, publishedAt: v.publishedAt })),
  };
}

/** Splits a `<name>@<version>` reference, refusing anything else with the contract codes. */
export function splitRef(ref: string): { name: string; version: string } {
  try {
    return parseReference(ref);
  } catch (e) {
    throw new ServiceError((e as { code: 'NAME_INVALID' | 'VERSION_INVALID' }).code, (e as Error).message);
  }
}
