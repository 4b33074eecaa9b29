import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A host starts `sigil` (or its own process embedding the resolver) at every launch, and building
// zod schemas was the largest part of loading the libraries: every wire schema is deferred (built
// on first use, see deferSchema in @sigil/manifest), and the plain tests' key lists are written
// out. This counts, in a fresh process, the zod schemas that loading the host's libraries builds,
// through zod's own hook for every schema constructed; one schema built after loading shows the
// hook counts.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const script = `
let built = 0;
globalThis.__zod_globalConfig = { postProcessor: () => { built++; } };
await import('@sigil/manifest');
await import('@sigil/tlog');
await import('@sigil/signing/verify');
const resolver = await import('@sigil/resolver');
const atLoad = built;
const { z } = await import('zod');
z.string();
process.stdout.write(JSON.stringify({ atLoad, probe: built - atLoad, exports: Object.keys(resolver).length }));
`;

describe('loading the host libraries', () => {
  it('builds no zod schema', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: packageDir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { atLoad, probe, exports } = JSON.parse(r.stdout) as { atLoad: number; probe: number; exports: number };
    expect(exports).toBeGreaterThan(10);
    expect(probe).toBe(1);
    expect(atLoad).toBe(0);
  });
});
