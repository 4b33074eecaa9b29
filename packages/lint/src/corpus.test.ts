import { readFileSync } from 'node:fs';
import type { Manifest } from '@sigil/manifest';
import { describe, expect, it } from 'vitest';
import { hasErrors, lintManifest, type LintFinding } from './index.js';

interface Item {
  id: number;
  label: 'benign' | 'malicious';
  category: string;
  server: string;
  tool: string;
  description: string;
  inputSchema?: Manifest['tools'][number]['inputSchema'];
}
const corpus = JSON.parse(readFileSync(new URL('../fixtures/tool-descriptions.json', import.meta.url), 'utf8')) as Item[];

function lintItem(item: Item): LintFinding[] {
  const manifest: Manifest = {
    name: 'io.github.corpus/item',
    description: 'corpus item',
    version: '1.0.0',
    tools: [{ name: item.tool.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128) || 'tool', description: item.description, inputSchema: item.inputSchema ?? { type: 'object' } }],
  };
  return lintManifest(manifest);
}

const HIDDEN = /zero_width|unicode_tag|bidi|ansi/;

describe('the labelled corpus', () => {
  const results = corpus.map((item) => ({ item, findings: lintItem(item) }));
  const malicious = results.filter((r) => r.item.label === 'malicious');
  const benign = results.filter((r) => r.item.label === 'benign');

  it('prints detection and false-positive rates by category', () => {
    const rows = new Map<string, { n: number; flagged: number; errors: number }>();
    for (const { item, findings } of results) {
      const key = `${item.label}: ${item.label === 'malicious' ? item.category.split('+')[0] : item.category}`;
      const row = rows.get(key) ?? { n: 0, flagged: 0, errors: 0 };
      row.n++;
      if (findings.length) row.flagged++;
      if (hasErrors(findings)) row.errors++;
      rows.set(key, row);
    }
    const lines = [...rows].sort().map(([k, r]) => `${k.padEnd(52)} ${String(r.n).padStart(4)}  flagged ${((100 * r.flagged) / r.n).toFixed(1).padStart(5)}%  errors ${((100 * r.errors) / r.n).toFixed(1).padStart(5)}%`);
    const detect = malicious.filter((r) => r.findings.length > 0).length / malicious.length;
    const fp = benign.filter((r) => r.findings.length > 0).length / benign.length;
    console.log(`${lines.join('\n')}\nmalicious flagged ${(100 * detect).toFixed(1)}% of ${malicious.length}; benign with any finding ${(100 * fp).toFixed(1)}% of ${benign.length}`);
    expect(rows.size).toBeGreaterThan(2);
  });

  it('refuses every malicious item with hidden or control characters with an error', () => {
    const hidden = malicious.filter((r) => HIDDEN.test(r.item.category));
    expect(hidden.length).toBeGreaterThan(0);
    for (const r of hidden) expect(hasErrors(r.findings), `item ${r.item.id}`).toBe(true);
  });

  it('flags every malicious item', () => {
    expect(malicious.filter((r) => r.findings.length === 0).map((r) => r.item.category)).toEqual([]);
  });

  it('gives at most 2% of the benign items any warning, and none an error', () => {
    const noisy = benign.filter((r) => r.findings.length > 0);
    expect(noisy.length / benign.length, noisy.map((r) => `${r.item.tool}: ${r.findings.map((f) => f.rule).join(',')}`).join('; ')).toBeLessThanOrEqual(0.02);
    expect(benign.filter((r) => hasErrors(r.findings))).toEqual([]);
  });
});
