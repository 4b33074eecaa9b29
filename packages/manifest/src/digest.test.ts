import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson, manifestDigest, manifestDigests, parseManifest, sha256, toolDigest, toolsSetDigest, type Manifest } from './index.js';

const vectorText = readFileSync(new URL('../test-vectors/weather.sigil.json', import.meta.url), 'utf8');

/** Rebuilds a JSON value with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
  }
  return value;
}

describe('the pinned test vector', () => {
  // Pinned: if canonicalisation or hashing ever changes, every signature in the field breaks.
  // This digest was computed once (and cross-checked with Python's json.dumps(sort_keys=True)) and must never be edited to make a test pass.
  const PINNED = 'sha256:3572c40d4d28e23833689266e9e47054ab098f831520824972085dc856b2008d';

  it('has the pinned manifest digest', () => {
    expect(manifestDigest(parseManifest(vectorText))).toBe(PINNED);
  });

  it('canonicalises to sorted keys without whitespace', () => {
    expect(canonicalJson({ b: [1, 'é', null], a: { d: 1e21, c: -0 } })).toBe('{"a":{"c":0,"d":1e+21},"b":[1,"é",null]}');
  });

  it('gives the same digest when keys are reordered and whitespace changes', () => {
    const reordered = JSON.stringify(reverseKeys(JSON.parse(vectorText)), null, 7);
    expect(reordered).not.toBe(vectorText);
    expect(manifestDigest(parseManifest(reordered))).toBe(PINNED);
  });
});

describe('when one character of one description changes', () => {
  const original = parseManifest(vectorText);
  const changed = structuredClone(original) as Manifest;
  changed.tools[1]!.description = changed.tools[1]!.description.replace('7', '8');

  it('changes that tool digest, the tools-set digest and the manifest digest', () => {
    expect(toolDigest(changed.tools[1]!)).not.toBe(toolDigest(original.tools[1]!));
    expect(toolDigest(changed.tools[0]!)).toBe(toolDigest(original.tools[0]!));
    expect(toolsSetDigest(changed.tools)).not.toBe(toolsSetDigest(original.tools));
    expect(manifestDigest(changed)).not.toBe(manifestDigest(original));
  });
});

describe('the tools-set digest', () => {
  const manifest = parseManifest(vectorText);

  it('does not change when tools are reordered', () => {
    expect(toolsSetDigest([...manifest.tools].reverse())).toBe(toolsSetDigest(manifest.tools));
  });

  it('changes when a tool is renamed', () => {
    const renamed = manifest.tools.map((t, i) => (i === 0 ? { ...t, name: 'get_weather' } : t));
    expect(toolsSetDigest(renamed)).not.toBe(toolsSetDigest(manifest.tools));
  });

  it('changes when a tool is removed', () => {
    expect(toolsSetDigest(manifest.tools.slice(1))).not.toBe(toolsSetDigest(manifest.tools));
  });
});

describe('manifestDigests (both digests, each tool serialised once)', () => {
  const manifest = parseManifest(vectorText);

  it('equals manifestDigest and toolsSetDigest of the pinned vector', () => {
    expect(manifestDigests(manifest)).toEqual({ digest: 'sha256:3572c40d4d28e23833689266e9e47054ab098f831520824972085dc856b2008d', toolsDigest: toolsSetDigest(manifest.tools) });
  });

  it('equals the two separate digests for arbitrary tools and extra top-level keys, nested "tools" keys included', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), { maxLength: 5 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), (tools, extra) => {
        const value = { ...extra, meta: { tools: [] }, name: manifest.name, tools } as unknown as Manifest;
        expect(manifestDigests(value)).toEqual({ digest: manifestDigest(value), toolsDigest: toolsSetDigest(value.tools) });
      }),
    );
  });

  it('refuses a tool that refers back to the manifest, as canonicalJson does', () => {
    const cyclic = structuredClone(manifest) as Manifest & { tools: Array<Record<string, unknown>> };
    cyclic.tools[0]!.self = cyclic;
    expect(() => manifestDigests(cyclic)).toThrow(CanonicalJsonError);
    expect(() => manifestDigest(cyclic)).toThrow(CanonicalJsonError);
  });
});

describe('property: key order never changes a digest', () => {
  it('holds for arbitrary JSON objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })), (obj) => {
        expect(sha256(canonicalJson(reverseKeys(obj)))).toBe(sha256(canonicalJson(obj)));
      }),
      { numRuns: 300 },
    );
  });
});
