import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERIFIER_DEPENDENCIES } from './cache.js';

// A sealed verification result is believed only by the same code (see VerificationCache): the
// libraries it names must be the ones installed, so upgrading one fails here until the constant,
// and with it every seal, changes.
const require = createRequire(import.meta.url);

/** The version of `name` as this package resolves it (its package.json, found above its entry point). */
function installedVersion(name: string): string {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version!;
    } catch {
      // not this folder
    }
  }
  throw new Error(`no package.json for ${name}`);
}

describe('VERIFIER_DEPENDENCIES', () => {
  it('names the libraries verification and the manifest checks run on, at their installed versions', () => {
    const named = VERIFIER_DEPENDENCIES.split(' ').map((d) => [d.slice(0, d.lastIndexOf('@')), d.slice(d.lastIndexOf('@') + 1)] as const);
    expect(named.map(([n]) => n)).toEqual(['@sigstore/bundle', '@sigstore/core', '@sigstore/protobuf-specs', '@sigstore/verify', 'zod']);
    for (const [name, version] of named) expect(`${name}@${installedVersion(name)}`).toBe(`${name}@${version}`);
  });
});
