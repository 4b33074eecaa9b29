import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTrustedRoot, PLAIN_ROOT_KEYS, plainTrustedRoot, TrustedRootJson } from './trusted-root.js';
import { createCa, createTsa } from './sign/index.js';

// plainTrustedRoot stands in for TrustedRootJson at every host start: whenever it answers, zod must
// accept the value and give the same back; every mutation below is either taken (then that holds)
// or left to zod. Roots: every trusted_root.json in the fixtures (Sigstore's public good instance
// and the conformance cases) and one an organisation builds with buildTrustedRoot.
const fixtures = new URL('../fixtures/', import.meta.url);
const roots: Array<[string, unknown]> = [['public-good', JSON.parse(readFileSync(new URL('npm/public-good.trusted_root.json', fixtures), 'utf8'))]];
for (const dir of readdirSync(new URL('sigstore-conformance/', fixtures))) {
  try {
    roots.push([dir, JSON.parse(readFileSync(new URL(`sigstore-conformance/${dir}/trusted_root.json`, fixtures), 'utf8'))]);
  } catch {
    // a case without a root of its own
  }
}
const ca = createCa({ name: 'Plain Root Test CA' });
roots.push(['buildTrustedRoot', JSON.parse(JSON.stringify(buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: createTsa(ca).chainPem }] })))]);

function agrees(value: unknown): void {
  const plain = plainTrustedRoot(value);
  if (plain === undefined) return;
  const parsed = TrustedRootJson.safeParse(value);
  expect(parsed.success).toBe(true);
  expect(plain).toEqual(parsed.data);
}

/** Every path to a value inside `v` (objects and arrays), for mutations. */
function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (v === null || typeof v !== 'object') return [at];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...at, k]))];
}
function mutate(v: unknown, path: Array<string | number>, to: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  if (path.length === 0) return to;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (to === DELETE) delete o[last];
  else o[last] = to;
  return copy;
}
const DELETE = Symbol('delete');
const REPLACEMENTS: unknown[] = [DELETE, null, '', 'x'.repeat(70_000), 'not base64!', 'QUJD', 0, -1, true, [], {}, [{}], { extra: 1 }, 'x'.repeat(300), 'x'.repeat(3000)];

describe('plainTrustedRoot', () => {
  it.each(roots)('answers for %s as zod does, if at all', (_, root) => agrees(root));

  it('answers for the public good root, an organisation\'s, and most conformance roots', () => {
    expect(plainTrustedRoot(roots[0]![1])).toBeDefined();
    expect(plainTrustedRoot(roots.at(-1)![1])).toBeDefined();
    expect(roots.filter(([, r]) => plainTrustedRoot(r) !== undefined).length).toBeGreaterThan(roots.length * 0.8);
  });

  it('never answers differently from zod for a mutated root', () => {
    let answered = 0;
    for (const [, root] of roots.slice(0, 3).concat(roots.slice(-1))) {
      for (const path of paths(root)) {
        for (const to of REPLACEMENTS) {
          const mutated = mutate(root, path, to);
          if (plainTrustedRoot(mutated) !== undefined) answered++;
          agrees(mutated);
        }
        const at = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root);
        if (at !== null && typeof at === 'object' && !Array.isArray(at)) agrees(mutate(root, [...path, 'unknownKey'], 'x'));
      }
    }
    expect(answered).toBeGreaterThan(0);
  });

  it('never answers differently from zod for generated values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => agrees(v)), { numRuns: 300 });
    const base = roots.at(-1)![1];
    fc.assert(
      fc.property(fc.constantFrom(...paths(base)), fc.jsonValue({ maxDepth: 3 }), (path, to) => agrees(mutate(base, path, to))),
      { numRuns: 2000 },
    );
  });

  it("lists the schema's own keys", () => {
    const keys = (s: { shape: object }) => Object.keys(s.shape).sort();
    const sorted = (set: ReadonlySet<string>) => [...set].sort();
    expect(sorted(PLAIN_ROOT_KEYS.root)).toEqual(keys(TrustedRootJson));
    const authority = TrustedRootJson.shape.certificateAuthorities.unwrap().element;
    const log = TrustedRootJson.shape.tlogs.unwrap().element;
    expect(sorted(PLAIN_ROOT_KEYS.authority)).toEqual(keys(authority));
    expect(sorted(PLAIN_ROOT_KEYS.log)).toEqual(keys(log));
    expect(sorted(PLAIN_ROOT_KEYS.chain)).toEqual(keys(authority.shape.certChain));
    expect(sorted(PLAIN_ROOT_KEYS.subject)).toEqual(keys(authority.shape.subject.unwrap().unwrap()));
    expect(sorted(PLAIN_ROOT_KEYS.validFor)).toEqual(keys(authority.shape.validFor.unwrap().unwrap()));
    expect(sorted(PLAIN_ROOT_KEYS.publicKey)).toEqual(keys(log.shape.publicKey));
    expect(sorted(PLAIN_ROOT_KEYS.keyId)).toEqual(keys(log.shape.logId));
    expect(sorted(PLAIN_ROOT_KEYS.rawBytes)).toEqual(keys(authority.shape.certChain.shape.certificates.element));
  });
});
