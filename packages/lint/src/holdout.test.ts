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
}
const items = JSON.parse(readFileSync(new URL('../fixtures/holdout.json', import.meta.url), 'utf8')) as Item[];

function lintItem(item: Item): LintFinding[] {
  const manifest: Manifest = {
    name: 'io.github.holdout/item',
    description: 'held-out item',
    version: '1.0.0',
    tools: [{ name: item.tool.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128) || 'tool', description: item.description, inputSchema: item.inputSchema ?? { type: 'object' } }],
  };
  return lintManifest(manifest);
}

const results = items.map((item) => ({ item, findings: lintItem(item) }));
const malicious = results.filter((r) => r.item.label === 'malicious');
const benign = results.filter((r) => r.item.label === 'benign');

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
  it('prints recall per technique and the benign false-positive rate', () => {
    const rows = byTechnique();
    const pct = (a: number, n: number) => `${((100 * a) / n).toFixed(1).padStart(5)}%`;
    const lines = [...rows].sort().map(([k, r]) => `malicious: ${k.padEnd(22)} ${String(r.n).padStart(3)}  flagged ${pct(r.flagged, r.n)}  errors ${pct(r.errors, r.n)}${r.missed.length ? `  missed ${r.missed.join(',')}` : ''}`);
    const flagged = malicious.filter((r) => r.findings.length > 0).length;
    const errors = malicious.filter((r) => hasErrors(r.findings)).length;
    const noisy = benign.filter((r) => r.findings.length > 0);
    const blocked = benign.filter((r) => hasErrors(r.findings));
    lines.push(`malicious flagged ${pct(flagged, malicious.length)} (errors ${pct(errors, malicious.length)}) of ${malicious.length}`);
    lines.push(`benign with any finding (high risk) ${pct(noisy.length, benign.length)}, with an error (refused) ${pct(blocked.length, benign.length)} of ${benign.length}`);
    for (const r of noisy) lines.push(`  benign ${r.item.id} ${r.item.tool}: ${r.findings.map((f) => `${f.rule}${f.severity === 'error' ? '!' : ''} ${f.path}`).join('; ')}`);
    console.log(lines.join('\n'));
    expect(rows.size).toBeGreaterThanOrEqual(14);
  });
});
