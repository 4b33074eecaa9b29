import { canonicalJson, toolDigest } from './digest.js';
import type { Digest, Tool } from './schema.js';
import { pinnedServerInfo, type PinnedServerInfo } from './server-info.js';

/** One difference between two JSON values, at a JSON Pointer path. */
export interface JsonChange {
  path: string;
  op: 'add' | 'remove' | 'replace';
  before?: unknown;
  after?: unknown;
}

/** What changed in one tool that kept its name. */
export interface ToolChange {
  name: string;
  before: Digest;
  after: Digest;
  /** Top-level fields of the tool that differ (`description`, `inputSchema`, `annotations`, …). */
  fields: string[];
  description?: { before: string; after: string };
  /** Changes inside the input and output schemas and the annotations, path-addressed. */
  changes: JsonChange[];
}

/**
 * Tool-level difference between two tool lists. A removed tool and an added tool with otherwise
 * identical definitions are reported as a rename. Empty lists everywhere mean "no change".
 */
export interface ToolsDiff {
  added: string[];
  removed: string[];
  renamed: Array<{ from: string; to: string }>;
  changed: ToolChange[];
}

export function isEmptyDiff(diff: ToolsDiff): boolean {
  return diff.added.length + diff.removed.length + diff.renamed.length + diff.changed.length === 0;
}

/**
 * Compares two tool lists by canonical digest; order does not matter.
 * @example diffTools(approved.tools, candidate.tools).changed.map((c) => c.name)
 */
export function diffTools(before: readonly Tool[], after: readonly Tool[]): ToolsDiff {
  const old = new Map(before.map((t) => [t.name, t]));
  const cur = new Map(after.map((t) => [t.name, t]));
  let removed = before.filter((t) => !cur.has(t.name));
  let added = after.filter((t) => !old.has(t.name));
  const renamed: Array<{ from: string; to: string }> = [];
  const body = (t: Tool): string => canonicalJson({ ...t, name: '' });
  for (const r of [...removed]) {
    const match = added.find((a) => body(a) === body(r));
    if (match) {
      renamed.push({ from: r.name, to: match.name });
      removed = removed.filter((t) => t !== r);
      added = added.filter((t) => t !== match);
    }
  }
  const changed: ToolChange[] = [];
  for (const t of after) {
    const prev = old.get(t.name);
    if (!prev) continue;
    const a = toolDigest(prev);
    const b = toolDigest(t);
    if (a === b) continue;
    const keys = [...new Set([...Object.keys(prev), ...Object.keys(t)])].sort();
    const fields = keys.filter((k) => canonicalJson((prev as Record<string, unknown>)[k] ?? null) !== canonicalJson((t as Record<string, unknown>)[k] ?? null));
    const change: ToolChange = { name: t.name, before: a, after: b, fields, changes: diffJson(prev, t, '').filter((c) => !c.path.startsWith('/description')) };
    if (fields.includes('description')) change.description = { before: prev.description, after: t.description };
    changed.push(change);
  }
  return {
    added: added.map((t) => t.name).sort(),
    removed: removed.map((t) => t.name).sort(),
    renamed: renamed.sort((x, y) => x.from.localeCompare(y.from)),
    changed: changed.sort((x, y) => x.name.localeCompare(y.name)),
  };
}

/** Structural difference of two JSON values, as a list of path-addressed changes. */
export function diffJson(before: unknown, after: unknown, path = ''): JsonChange[] {
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null) && (before === undefined) === (after === undefined)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      const at = `${path}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (!(k in before)) return [{ path: at, op: 'add' as const, after: after[k] }];
      if (!(k in after)) return [{ path: at, op: 'remove' as const, before: before[k] }];
      return diffJson(before[k], after[k], at);
    });
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => diffJson(b, after[i], `${path}/${i}`));
  }
  if (before === undefined) return [{ path, op: 'add', after }];
  if (after === undefined) return [{ path, op: 'remove', before }];
  return [{ path, op: 'replace', before, after }];
}

/** One side of a deployment change: the entries of a list, each as its canonical JSON (RFC 8785). */
export interface DeploymentSide {
  before: string[];
  after: string[];
}

/**
 * What a host installs or connects to (`packages`, `remotes`), where it differs between two
 * versions in anything a release moves by itself: a package's `version` and `fileSha256`, and the
 * server's own version where an identifier or URL spells it (`docker.io/acme/weather:1.2.0`,
 * `…/download/v1.2.0/weather.mcpb`). Each list whole, its entries as canonical JSON, or null when
 * that list is unchanged so; null when neither changed. Another package identifier or registry,
 * other arguments or environment, another remote URL: the same reviewed tools would run other
 * code, so review shows it and publish calls the version high risk.
 */
export function diffDeployment(base: Deployment, next: Deployment): { packages: DeploymentSide | null; remotes: DeploymentSide | null } | null {
  const side = (a: Deployment, b: Deployment, list: 'packages' | 'remotes'): DeploymentSide | null => {
    const x = (a[list] ?? []).map((entry) => releaseFree(entry, a.version, list === 'packages'));
    const y = (b[list] ?? []).map((entry) => releaseFree(entry, b.version, list === 'packages'));
    if (x.length === y.length && x.every((t, i) => t === y[i])) return null;
    return { before: (a[list] ?? []).map(canonicalJson), after: (b[list] ?? []).map(canonicalJson) };
  };
  const packages = side(base, next, 'packages');
  const remotes = side(base, next, 'remotes');
  return packages || remotes ? { packages, remotes } : null;
}

/** What `diffManifests` compares: the parts of a manifest a review shows the changes of. */
export interface Reviewed extends Deployment {
  tools: readonly Tool[];
  instructions?: string | undefined;
  _meta?: Record<string, unknown> | undefined;
}

/** Everything a review shows of what changed from an approved version to the next (`diffManifests`). */
export interface ManifestChanges {
  tools: ToolsDiff;
  instructionsChanged: boolean;
  /** The pinned server identities before and after (`pinnedServerInfo`), when they differ; null when not. */
  serverInfoChanged: { before: PinnedServerInfo | null; after: PinnedServerInfo | null } | null;
  deploymentChanged: ReturnType<typeof diffDeployment>;
}

/**
 * What changed from `base` (the last approved version) to `next`: the tools, the instructions,
 * the pinned server identity and what a host installs or connects to. One computation for the
 * registry's review view and for `sigil review show`, which computes it again from the manifests
 * the digests name rather than take the registry's word.
 */
export function diffManifests(base: Reviewed, next: Reviewed): ManifestChanges {
  const before = pinnedServerInfo(base) ?? null;
  const after = pinnedServerInfo(next) ?? null;
  const sameIdentity = before?.name === after?.name && before?.version === after?.version && before?.title === after?.title;
  return {
    tools: diffTools(base.tools, next.tools),
    instructionsChanged: (base.instructions ?? null) !== (next.instructions ?? null),
    serverInfoChanged: sameIdentity ? null : { before, after },
    deploymentChanged: diffDeployment(base, next),
  };
}

/** What `diffDeployment` compares: a manifest's version and its packages and remotes. */
export interface Deployment {
  version?: string | undefined;
  packages?: unknown[] | undefined;
  remotes?: unknown[] | undefined;
}

/** An entry's canonical JSON without what a release moves by itself (see diffDeployment). */
function releaseFree(entry: unknown, version: string | undefined, isPackage: boolean): string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return canonicalJson(entry);
  const { version: _version, fileSha256: _sha, ...rest } = entry as Record<string, unknown>;
  const kept: Record<string, unknown> = isPackage ? rest : { ...(entry as Record<string, unknown>) };
  for (const key of ['identifier', 'url']) {
    const value = kept[key];
    if (typeof value === 'string' && version) kept[key] = value.split(version).join('\u0000version\u0000');
  }
  return canonicalJson(kept);
}
