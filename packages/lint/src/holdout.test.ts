import { readFileSync } from 'node:fs';
import type { Manifest } from '@sigil/manifest';
import { describe, expect, it } from 'vitest';
import { hasErrors, lintManifest, type LintFinding } from './index.js';

// A held-out set the rules were not written against (fixtures/README.md says where each item
// came from): malicious descriptions and schemas written in new words for each technique, and
// benign hard cases quoted from real public MCP servers. It measures generalisation; it must
// never be tuned to by matching its strings.
interface Item {
  id: string;
  label: 'benign' | 'malicious';
  category: string;
  source: string;
  tool: string;
  description: string;
  inputSchema?: Manifest['tools'][number]['inputSchema'];
  /** Round 6: more of the tool (`title`, `outputSchema`, `annotations`, `_meta`) and of the manifest (`instructions`, `packages`, `remotes`). */
  toolExtra?: Partial<Manifest['tools'][number]>;
  manifestExtra?: Partial<Manifest>;
}
const items = JSON.parse(readFileSync(new URL('../fixtures/holdout.json', import.meta.url), 'utf8')) as Item[];

function lintItem(item: Item): LintFinding[] {
  const manifest: Manifest = {
    name: 'io.github.holdout/item',
    description: 'held-out item',
    version: '1.0.0',
    ...item.manifestExtra,
    tools: [{ name: item.tool.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128) || 'tool', description: item.description, inputSchema: item.inputSchema ?? { type: 'object' }, ...item.toolExtra }],
  };
  return lintManifest(manifest);
}

const results = items.map((item) => ({ item, findings: lintItem(item) }));
// Round 4 (`q…`) was written after the last change and never tuned to: printed as the estimate on
// unseen phrasings, with no threshold. Rounds 1–3 (`m…`, `p…`, `r…`) carry the thresholds.
// Round 6 (`t…` malicious, `d…` benign) lints whole manifests (fixtures/README.md): printed on its
// own lines; its thresholds are the refusals below, not the recall of rounds 1–3. Round 7 (`u…`)
// was written after round 6's rule changes and is never tuned to: the estimate on unseen text.
// Round 8 (`v…` malicious, `e…` benign) was written before reading the rules and run against them
// before any change (fixtures/README.md): its own lines, with its before-figures.
const FRESH = ['q', 's', 't', 'u', 'v'];
const fresh = results.filter((r) => r.item.label === 'malicious' && FRESH.includes(r.item.id[0]!));
const malicious = results.filter((r) => r.item.label === 'malicious' && !FRESH.includes(r.item.id[0]!));
const benign = results.filter((r) => r.item.label === 'benign' && !r.item.id.startsWith('d') && !r.item.id.startsWith('e'));
const round6 = results.filter((r) => r.item.id.startsWith('t'));
const benign6 = results.filter((r) => r.item.label === 'benign' && r.item.id.startsWith('d'));
const round8 = results.filter((r) => r.item.id.startsWith('v'));
const benign8 = results.filter((r) => r.item.label === 'benign' && r.item.id.startsWith('e'));

function byTechnique(): Map<string, { n: number; flagged: number; errors: number; missed: string[] }> {
  const rows = new Map<string, { n: number; flagged: number; errors: number; missed: string[] }>();
  for (const { item, findings } of malicious) {
    const row = rows.get(item.category) ?? { n: 0, flagged: 0, errors: 0, missed: [] };
    row.n++;
    if (findings.length) row.flagged++;
    else row.missed.push(item.id);
    if (hasErrors(findings)) row.errors++;
    rows.set(item.category, row);
  }
  return rows;
}

describe('the held-out set', () => {
  const rows = byTechnique();

  it('prints recall per technique and the benign false-positive rate', () => {
    const pct = (a: number, n: number) => `${((100 * a) / n).toFixed(1).padStart(5)}%`;
    const lines = [...rows].sort().map(([k, r]) => `malicious: ${k.padEnd(22)} ${String(r.n).padStart(3)}  flagged ${pct(r.flagged, r.n)}  errors ${pct(r.errors, r.n)}${r.missed.length ? `  missed ${r.missed.join(',')}` : ''}`);
    for (const [k, round] of ['m', 'p', 'r', 'q', 's', 't', 'u', 'v'].entries()) {
      const these = [...malicious, ...fresh].filter((r) => r.item.id.startsWith(round));
      const missed = FRESH.includes(round) ? `  missed ${these.filter((r) => !r.findings.length).map((r) => `${r.item.id} ${r.item.category}`).join(', ')}` : '';
      lines.push(`round ${k + 1} (${round}…): flagged ${pct(these.filter((r) => r.findings.length > 0).length, these.length)} of ${these.length}${missed}`);
    }
    const flagged = malicious.filter((r) => r.findings.length > 0).length;
    const errors = malicious.filter((r) => hasErrors(r.findings)).length;
    const noisy = benign.filter((r) => r.findings.length > 0);
    const blocked = benign.filter((r) => hasErrors(r.findings));
    lines.push(`malicious of rounds 1–3 flagged ${pct(flagged, malicious.length)} (errors ${pct(errors, malicious.length)}) of ${malicious.length}`);
    lines.push(`benign with any finding (high risk) ${pct(noisy.length, benign.length)}, with an error (refused) ${pct(blocked.length, benign.length)} of ${benign.length}`);
    for (const r of noisy) lines.push(`  benign ${r.item.id} ${r.item.tool}: ${r.findings.map((f) => `${f.rule}${f.severity === 'error' ? '!' : ''} ${f.path}`).join('; ')}`);
    // Round 6 before its rule changes (rules of main at 71452c2): malicious 48/64 flagged (75.0%), 19 refused;
    // benign 7/41 warned, 3 refused (a Persian ZWNJ, a subdivision flag, AWS's documented example key).
    const noisy6 = benign6.filter((r) => r.findings.length > 0);
    lines.push(`round 6 (t…, whole manifests): flagged ${pct(round6.filter((r) => r.findings.length > 0).length, round6.length)} of ${round6.length}, refused ${pct(round6.filter((r) => hasErrors(r.findings)).length, round6.length)} (before: 75.0% flagged, 48 of 64)`);
    lines.push(`round 6 benign (d…): warned ${noisy6.length}, refused ${benign6.filter((r) => hasErrors(r.findings)).length} of ${benign6.length} (before: 7 warned, 3 refused)`);
    for (const r of noisy6) lines.push(`  benign ${r.item.id} ${r.item.tool}: ${r.findings.map((f) => `${f.rule}${f.severity === 'error' ? '!' : ''} ${f.path}`).join('; ')}`);
    const noisy8 = benign8.filter((r) => r.findings.length > 0);
    // Round 8 before its rule changes (rules of main at 17974c4): 34 of 47 flagged (72.3%), 3 refused; benign 6 of 40 warned, none refused.
    lines.push(`round 8 (v…): flagged ${pct(round8.filter((r) => r.findings.length > 0).length, round8.length)} of ${round8.length}, refused ${pct(round8.filter((r) => hasErrors(r.findings)).length, round8.length)} (before: 72.3% flagged, 34 of 47)`);
    lines.push(`round 8 benign (e…): warned ${noisy8.length}, refused ${benign8.filter((r) => hasErrors(r.findings)).length} of ${benign8.length} (before: 6 warned, 0 refused)`);
    for (const r of noisy8) lines.push(`  benign ${r.item.id} ${r.item.tool}: ${r.findings.map((f) => `${f.rule}${f.severity === 'error' ? '!' : ''} ${f.path}`).join('; ')}`);
    console.log(lines.join('\n'));
    expect(rows.size).toBeGreaterThanOrEqual(14);
  });

  // Thresholds (docs/lint-rules.md, "Measured"): every technique at least 80% flagged (one miss
  // in five), all of them together at least 95%; hidden characters and terminal escapes are
  // refused outright (an error on every item); no benign item refused, at most one warned.
  it.each([...rows.keys()].sort())('flags at least 80%% of the %s items', (technique) => {
    const r = rows.get(technique)!;
    expect(r.flagged / r.n, `missed ${r.missed.join(', ')}`).toBeGreaterThanOrEqual(0.8);
  });

  it('flags at least 95% of the malicious items', () => {
    expect(malicious.filter((r) => r.findings.length > 0).length / malicious.length).toBeGreaterThanOrEqual(0.95);
  });

  it('refuses every item hiding text in invisible characters or terminal escapes', () => {
    for (const r of malicious.filter((x) => x.item.category === 'invisible_unicode' || x.item.category === 'ansi')) expect(hasErrors(r.findings), r.item.id).toBe(true);
  });

  it('refuses every round-6 item hiding text, carrying terminal escapes or a secret, and no round-6 benign item', () => {
    for (const r of round6.filter((x) => ['invisible_unicode', 'ansi', 'secret'].includes(x.item.category))) expect(hasErrors(r.findings), r.item.id).toBe(true);
    expect(benign6.filter((r) => hasErrors(r.findings)).map((r) => r.item.id)).toEqual([]);
  });

  it('refuses every round-7 and round-8 item carrying a secret, and no round-8 benign item', () => {
    for (const r of results.filter((x) => 'uv'.includes(x.item.id[0]!) && x.item.category === 'secret')) expect(hasErrors(r.findings), r.item.id).toBe(true);
    expect(benign8.filter((r) => hasErrors(r.findings)).map((r) => r.item.id)).toEqual([]);
  });

  it('refuses no benign item and warns on at most one', () => {
    expect(benign.filter((r) => hasErrors(r.findings)).map((r) => r.item.id)).toEqual([]);
    expect(benign.filter((r) => r.findings.length > 0).length).toBeLessThanOrEqual(1);
  });
});
