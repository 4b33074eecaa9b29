import { approvalsOf, versionsOf, versionsByStatus, type VersionFilter, type VersionRow } from '@sigil/db';
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
  /** Distinct approvals this version needs before it is approved (high risk needs more). */
  approvalsRequired: number;
  /** Why the version is high risk (empty when low): tools not marked read-only, lint warnings. */
  riskReasons: string[];
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
    approvalsRequired: row.risk === 'high' ? deps.settings.highRiskApprovals : 1,
    riskReasons: row.risk === 'high' ? riskReasons(manifest, findings(row)) : [],
  };
}

/** The same two reasons publish uses to call a version high risk, spelled out for the reviewer. */
function riskReasons(manifest: Manifest, lint: LintFinding[]): string[] {
  const writers = manifest.tools.filter((t) => t.annotations?.readOnlyHint !== true).map((t) => t.name);
  const warnings = lint.filter((f) => f.severity === 'warning').length;
  const reasons: string[] = [];
  if (writers.length) {
    const shown = writers.slice(0, 8).join(', ');
    reasons.push(`${writers.length} of ${manifest.tools.length} tools are not marked read-only (readOnlyHint): ${shown}${writers.length > 8 ? ', …' : ''}`);
  }
  if (warnings) reasons.push(`${warnings} lint warning${warnings === 1 ? '' : 's'}`);
  return reasons;
}

export interface ReviewQueueItem {
  name: string;
  version: string;
  digest: string;
  status: string;
  risk: string;
  publisher: string;
  publishedAt: string;
  findings: number;
}

/**
 * One page of the review queue: versions matching the filters (default pending), oldest first,
 * and the cursor of the next page (null on the last), so nothing hides behind a flood.
 */
export function reviewQueue(deps: Deps, filter: VersionFilter, limit: number): { reviews: ReviewQueueItem[]; next: string | null } {
  const rows = versionsByStatus(deps.db, filter, limit + 1);
  const page = rows.slice(0, limit);
  return {
    reviews: page.map((v) => ({ name: v.server, version: v.version, digest: v.digest, status: v.status, risk: v.risk, publisher: v.publisher, publishedAt: v.publishedAt, findings: findings(v).length })),
    next: rows.length > limit ? String(page.at(-1)!.id) : null,
  };
}
