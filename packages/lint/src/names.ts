import unhomoglyph from 'unhomoglyph';
import { splitServerName, type Manifest } from '@sigil/manifest';
import type { LintFinding } from './finding.js';

/**
 * The skeleton two names are compared by: case folding and NFKC, the UTS #39 confusable skeleton
 * (unhomoglyph, Unicode's confusables.txt data: m→rn, 1/I→l, Cyrillic and Greek look-alikes to
 * Latin…), separators removed, the remaining ASCII look-alikes folded (rn→m, vv→w, 1/l/i/|→i,
 * 0→o), and runs of a repeated letter collapsed.
 */
export function nameSkeleton(text: string): string {
  return unhomoglyph(text.toLowerCase().normalize('NFKC'))
    .toLowerCase()
    .replace(/[-_.\s]/g, '')
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/[l1|!]/g, 'i')
    .replace(/0/g, 'o')
    .replace(/(.)\1+/g, '$1');
}

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions), bounded. */
export function editDistance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** How many edits still count as a look-alike, by length: none under 4, one up to 7, two from 8. */
function allowedEdits(length: number): number {
  return length < 4 ? 0 : length < 8 ? 1 : 2;
}

function alike(a: string, b: string): boolean {
  if (a === b) return true;
  const plainA = a.toLowerCase().replace(/[-_.]/g, '');
  const plainB = b.toLowerCase().replace(/[-_.]/g, '');
  if (nameSkeleton(a) === nameSkeleton(b)) return true;
  return editDistance(plainA, plainB) <= allowedEdits(Math.min(plainA.length, plainB.length));
}

/**
 * Look-alike server names. For a new name, compares the server part within the same namespace,
 * and the whole name across namespaces that look alike (`io.github.acrne` vs `io.github.acme`).
 * A look-alike of a server another owner holds is an error (NAME_CONFUSABLE, naming the server
 * it resembles); of the same owner's, a warning for review. The identical name is not a finding.
 * @example checkNameConfusable({ name: 'io.github.acme/fi1esystem', owner: 'mallory' }, [{ name: 'io.github.acme/filesystem', owner: 'acme' }])
 */
export function checkNameConfusable(candidate: { name: string; owner: string }, existing: ReadonlyArray<{ name: string; owner: string }>): LintFinding[] {
  const findings: LintFinding[] = [];
  const c = splitServerName(candidate.name);
  for (const other of existing) {
    if (other.name === candidate.name) continue;
    const o = splitServerName(other.name);
    // Case does not distinguish names (nameKey): `io.github.ACME` is the namespace `io.github.acme`,
    // held to the same-namespace rule, not the looser one across namespaces.
    const cNamespace = c.namespace.toLowerCase();
    const oNamespace = o.namespace.toLowerCase();
    const sameNamespace = cNamespace === oNamespace;
    const namespaceAlike = sameNamespace || nameSkeleton(c.namespace) === nameSkeleton(o.namespace) || editDistance(cNamespace, oNamespace) <= 1;
    if (!namespaceAlike) continue;
    const serverAlike = sameNamespace ? alike(c.server, o.server) : nameSkeleton(c.server) === nameSkeleton(o.server) || editDistance(c.server.toLowerCase(), o.server.toLowerCase()) <= 1;
    if (!serverAlike) continue;
    const sameOwner = other.owner === candidate.owner;
    findings.push({
      path: '/name',
      rule: 'NAME_CONFUSABLE',
      severity: sameOwner ? 'warning' : 'error',
      message: sameOwner
        ? `${candidate.name} looks like ${other.name}, which the same publisher holds; check it is not a mistake`
        : `${candidate.name} looks like ${other.name}, held by another publisher: refused as a look-alike`,
      excerpt: other.name,
    });
  }
  return findings;
}

/** Tools named like a tool another approved server already exposes (shadowing across servers): warnings. */
export function checkToolShadowing(manifest: Manifest, others: ReadonlyArray<{ name: string; tools: readonly string[] }>): LintFinding[] {
  const owners = new Map<string, string>();
  for (const o of others) if (o.name !== manifest.name) for (const t of o.tools) if (!owners.has(t)) owners.set(t, o.name);
  return manifest.tools.flatMap((t, i) => {
    const owner = owners.get(t.name);
    return owner ? [{ path: `/tools/${i}/name`, rule: 'tool-shadowing', severity: 'warning' as const, message: `the tool ${t.name} is also exposed by the approved server ${owner}; a host with both may call the wrong one`, excerpt: t.name }] : [];
  });
}
