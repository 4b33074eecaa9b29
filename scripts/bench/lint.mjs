#!/usr/bin/env node
// The lint and the format check of a realistic 128-tool manifest (descriptions, schemas with
// property descriptions, enums and defaults), each beside a bare JSON.parse of the same bytes
// measured in the same run, and the lint of 1,024 tools beside 128 (linear growth).
// Goals (issue 14): lint <= 15x JSON.parse, checkManifestValue <= 5x JSON.parse, 1,024 tools <= 9x 128 tools.
// Usage: node scripts/bench/lint.mjs [seconds per case, default 2]
import { checkManifestValue } from '@sigil/manifest';
import { lintManifest } from '@sigil/lint';

const seconds = Number(process.argv[2] ?? 2);
const tool = (i) => ({
  name: `tool_${i}`,
  title: `Tool ${i}`,
  description: `Looks up record ${i} in the inventory and returns its fields. Use the filter to narrow results; pagination is supported through the cursor parameter. More at https://docs.example.com/tools/${i}.`,
  inputSchema: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'Record identifier, e.g. "A-1234".' },
      filter: { type: 'string', description: 'Optional filter expression.', default: 'status:active' },
      sort: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
      cursor: { type: 'string', description: 'Opaque cursor from a previous page.' },
    },
    required: ['id'],
  },
  annotations: { readOnlyHint: true },
});
const manifestOf = (n) => ({ name: 'io.github.acme/inventory', description: 'Inventory lookups', version: '1.0.0', instructions: 'Call list before get.', tools: Array.from({ length: n }, (_, i) => tool(i)) });
const manifest = manifestOf(128);
const large = manifestOf(1024);
const text = JSON.stringify(manifest);
const bytes = Buffer.byteLength(text);

/**
 * Milliseconds per call of each case: rounds interleave the cases (each runs for `seconds / 10`
 * per round, after a warm-up) so all see the same machine load; the best round of each counts.
 */
function msPerCall(cases) {
  const best = cases.map(() => Infinity);
  for (const fn of cases) for (let i = 0; i < 20; i++) fn();
  for (let round = 0; round < 10; round++) {
    cases.forEach((fn, k) => {
      let n = 0;
      const start = process.hrtime.bigint();
      const end = start + BigInt(Math.round((seconds / 10) * 1e9));
      let now = start;
      while (now < end) {
        fn();
        n++;
        now = process.hrtime.bigint();
      }
      best[k] = Math.min(best[k], Number(now - start) / 1e6 / n);
    });
  }
  return best;
}

const findings = lintManifest(manifest);
if (findings.length) throw new Error(`the bench manifest should lint clean: ${findings.map((f) => f.rule).join(', ')}`);
if (!checkManifestValue(manifest).manifest) throw new Error('the bench manifest should be valid');
const [parse, check, lint, lintLarge] = msPerCall([() => JSON.parse(text), () => checkManifestValue(manifest), () => lintManifest(manifest), () => lintManifest(large)]);
const row = (label, ms, ratio, goal) => console.log(`${label.padEnd(34)} ${ms.toFixed(3).padStart(8)} ms   ${ratio.toFixed(1).padStart(5)}x  (goal <= ${goal}x)`);
console.log(`node ${process.version}; 128 tools, ${bytes} bytes; cases interleaved, best of 10 rounds`);
console.log(`${'JSON.parse (baseline)'.padEnd(34)} ${parse.toFixed(3).padStart(8)} ms`);
row('lintManifest, 128 tools', lint, lint / parse, 15);
row('checkManifestValue, 128 tools', check, check / parse, 5);
row('lintManifest, 1,024 vs 128 tools', lintLarge, lintLarge / lint, 9);
