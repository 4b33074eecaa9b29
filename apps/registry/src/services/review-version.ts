import { approvalsOf, versionsOf, versionsByStatus, type VersionFilter } from '@sigil/db';
import { diffDeployment, diffManifests, type Manifest, type ReviewQueue, type ReviewView } from '@sigil/manifest';
import type { Deps, LintFinding } from '../deps.js';
import { trustedRoot } from './register-ca.js';
import { manifestSignerChain } from './signer-spec.js';
import { findings, requireVersion } from './views.js';

/** What a reviewer decides on: the wire schema `ReviewView` of @sigil/manifest. */
export type Review = ReviewView;

/** Lint findings and the structured diff against the last approved version of the same server. */
export async function reviewVersion(deps: Deps, name: string, version: string): Promise<Review> {
  const row = await requireVersion(deps, name, version);
  const manifest = JSON.parse(row.manifest) as Manifest;
  const baseline = (await versionsOf(deps.db, name)).find((v) => v.status === 'approved' && v.id !== row.id && v.id < row.id) ?? (await versionsOf(deps.db, name)).find((v) => v.status === 'approved' && v.id !== row.id);
  const base = baseline ? (JSON.parse(baseline.manifest) as Manifest) : undefined;
  const changes = base ? diffManifests(base, manifest) : undefined;
  // Which CA issued the signer's certificate: the identity alone does not say who vouched for it.
  const ca = row.signerKind === 'certificate' ? manifestSignerChain(row, manifest, await trustedRoot(deps))[0] : undefined;
  return {
    name,
    version,
    digest: row.digest,
    status: row.status,
    risk: row.risk,
    publisher: row.publisher,
    signer: { kind: row.signerKind as ReviewView['signer']['kind'], keyFingerprint: row.signerFingerprint, ...(row.signerIdentity ? { identity: row.signerIdentity } : {}), ...(ca ? { ca } : {}) },
    provenance: row.provenance !== null,
    findings: findings(row),
    baseline: baseline ? { version: baseline.version, digest: baseline.digest } : null,
    diff: changes ? changes.tools : null,
    instructionsChanged: changes ? changes.instructionsChanged : false,
    serverInfoChanged: changes ? changes.serverInfoChanged : null,
    deploymentChanged: changes ? changes.deploymentChanged : null,
    approvals: (await approvalsOf(deps.db, row.id)).length,
    approvalsRequired: row.risk === 'high' ? deps.settings.highRiskApprovals : 1,
    riskReasons: row.risk === 'high' ? riskReasons(manifest, findings(row), base && baseline ? { version: baseline.version, manifest: base } : undefined) : [],
  };
}

/** The reasons publish uses to call a version high risk, spelled out for the reviewer. */
function riskReasons(manifest: Manifest, lint: LintFinding[], baseline: { version: string; manifest: Manifest } | undefined): string[] {
  const writers = manifest.tools.filter((t) => t.annotations?.readOnlyHint !== true).map((t) => t.name);
  const warnings = lint.filter((f) => f.severity === 'warning').length;
  const reasons: string[] = [];
  if (writers.length) {
    const shown = writers.slice(0, 8).join(', ');
    reasons.push(`${writers.length} of ${manifest.tools.length} tools are not marked read-only (readOnlyHint): ${shown}${writers.length > 8 ? ', …' : ''}`);
  }
  if (warnings) reasons.push(`${warnings} lint warning${warnings === 1 ? '' : 's'}`);
  const moved = baseline ? diffDeployment(baseline.manifest, manifest) : null;
  if (moved) reasons.push(`its ${[moved.packages ? 'packages' : '', moved.remotes ? 'remotes' : ''].filter(Boolean).join(' and ')} differ from the approved ${baseline!.version}'s: a host would install or reach other code under the same tools`);
  return reasons;
}

/**
 * One page of the review queue: versions matching the filters (default pending), oldest first,
 * and the cursor of the next page (null on the last), so nothing hides behind a flood.
 */
export async function reviewQueue(deps: Deps, filter: VersionFilter, limit: number): Promise<ReviewQueue> {
  const rows = await versionsByStatus(deps.db, filter, limit + 1);
  const page = rows.slice(0, limit);
  return {
    reviews: page.map((v) => ({ name: v.server, version: v.version, digest: v.digest, status: v.status, risk: v.risk, publisher: v.publisher, publishedAt: v.publishedAt, findings: findings(v).length })),
    next: rows.length > limit ? String(page.at(-1)!.id) : null,
  };
}
