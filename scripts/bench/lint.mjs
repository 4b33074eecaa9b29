#!/usr/bin/env node
// Manifests linted per second: a realistic 128-tool manifest (descriptions, schemas with
// property descriptions, enums and defaults), beside the cost of only parsing and checking the
// same manifest, measured in the same run.
// Usage: node scripts/bench/lint.mjs [seconds per case, default 3]
import { checkManifestValue } from '@sigil/manifest';
import { lintManifest } from '@sigil/lint';

const seconds = Number(process.argv[2] ?? 3);
const tools = Array.from({ length: 128 }, (_, i) => ({
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
}));
const manifest = { name: 'io.github.acme/inventory', description: 'Inventory lookups', version: '1.0.0', instructions: 'Call list before get.', tools };
const bytes = Buffer.byteLength(JSON.stringify(manifest));

function rate(fn) {
  for (let i = 0; i < 5; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    fn();
    n++;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const findings = lintManifest(manifest);
if (findings.length) throw new Error(`the bench manifest should lint clean: ${findings.map((f) => f.rule).join(', ')}`);
const check = rate(() => checkManifestValue(manifest));
const lint = rate(() => lintManifest(manifest));
console.log(`node ${process.version}; 128 tools, ${bytes} bytes`);
console.log(`lintManifest:        ${lint.toFixed(1)} manifests/s (${(1000 / lint).toFixed(2)} ms each)`);
console.log(`checkManifestValue:  ${check.toFixed(1)} manifests/s (${(1000 / check).toFixed(2)} ms each), the format check alone`);
console.log(`lint / format check: ${(check / lint).toFixed(2)}x the time`);
