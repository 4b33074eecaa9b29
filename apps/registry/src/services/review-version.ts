import { approvalsOf, versionsOf, versionsByStatus, type VersionRow } from '@sigil/db';
import { diffTools, type Manifest, type ToolsDiff } from '@sigil/manifest';
import type { Deps, LintFinding } from '../deps.js';
import { findings, requireVersion } from './views.js';

export interface Review {
  name: string;
  version: string;
  digest: string;
  status: VersionRow['status'];
  risk: VersionRow['risk'];
  publisher: string;
  signer: { kind: string; keyFingerprint: string; identity?: string };
  provenance: boolean;
  findings: LintFinding[];
  /** The last approved version of the same server, and the tool diff against it (a rug pull shows here). */
  baseline: { version: string; digest: string } | null;
  diff: ToolsDiff | null;
  instructionsChanged: boolean;
  /** Approvals recorded so far. */
  approvals: number;
}

/** Lint findings and the structured diff against the last approved version of the same server. */
export function reviewVersion(deps: Deps, name: string, version: string): Review {
  const row = requireVersion(deps, name, version);
  const manifest = JSON.parse(row.manifest) as Manifest;
  const baseline = versionsOf(deps.db, name).find((v) => v.status === 'approved' && v.id !== row.id && v.id < row.id) ?? versionsOf(deps.db, name).find((v) => v.status === 'approved' && v.id !== row.id);
  const base = baseline ? (JSON.parse(baseline.manifest) as Manifest) : undefined;
  return {
    name,
    version,
    digest: row.digest,
    status: row.status,
    risk: row.risk,
    publisher: row.publisher,
    signer: { kind: row.signerKind, keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}) },
    provenance: row.provenance !== null,
    findings: findings(row),
    baseline: baseline ? { version: baseline.version, digest: baseline.digest } : null,
    diff: base ? diffTools(base.tools, manifest.tools) : null,
    instructionsChanged: base ? (base.instructions ?? null) !== (manifest.instructions ?? null) : false,
    approvals: approvalsOf(deps.db, row.id).length,
  };
}

/** The review queue: versions with a status (default pending), oldest first. */
export function reviewQueue(deps: Deps, status: VersionRow['status'] | undefined, limit: number): Array<{ name: string; version: string; digest: string; status: string; risk: string; publisher: string; publishedAt: string; findings: number }> {
  return versionsByStatus(deps.db, status, limit).map((v) => ({ name: v.server, version: v.version, digest: v.digest, status: v.status, risk: v.risk, publisher: v.publisher, publishedAt: v.publishedAt, findings: findings(v).length }));
}
