import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLAIN_POLICY_KEYS, plainPolicyFile } from './plain-policy.js';
import { PolicyFile } from './policy.js';

// plainPolicyFile stands in for PolicyFile at every host start: whenever it answers, zod must accept
// the value and give the same back (defaults filled in); every mutation below is either taken (then
// that holds) or left to zod.
const fp = `SHA256:${'A'.repeat(43)}`;
const full = (): Record<string, unknown> => ({
  policyVersion: 1,
  registry: { url: 'https://registry.example:8443/base', trustedRoot: 'root.json', statusKey: 'status.pub', statusKeyFingerprint: fp, nextStatusKey: 'next.pub', nextStatusKeyFingerprint: fp },
  publishers: [
    { namespace: 'io.github.acme', publicKeys: ['acme.pub'], identities: [{ identity: 'mailto:release@acme.example', ca: fp }, { identity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' }] },
    { namespace: 'com.example.*', identities: [] },
  ],
  reviewers: { publicKeys: ['reviewer.pub'], identities: [], threshold: 1, highRiskThreshold: 2 },
  maxStatusAgeSeconds: 7200,
  offline: { maxStatusAgeSeconds: 600 },
  liveTools: 'pinned-subset',
});
const minimal = (): Record<string, unknown> => ({ policyVersion: 1, registry: { url: 'http://127.0.0.1:9', trustedRoot: 'root.json', statusKey: 'status.pub' }, reviewers: {} });

function agrees(value: unknown): boolean {
  const plain = plainPolicyFile(value);
  if (plain === undefined) return false;
  const parsed = PolicyFile.safeParse(value);
  expect(parsed.success).toBe(true);
  expect(plain).toEqual(parsed.data);
  return true;
}

function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (v === null || typeof v !== 'object') return [at];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return [at, ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...at, k]))];
}
const DELETE = Symbol('delete');
function mutate(v: unknown, path: Array<string | number>, to: unknown): unknown {
  if (path.length === 0) return to;
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  if (to === DELETE) delete o[path.at(-1)!];
  else o[path.at(-1)!] = to;
  return copy;
}
const REPLACEMENTS: unknown[] = [
  DELETE, null, '', 'x', 0, 1, 2, 1.5, -1, 16, 17, 3600, 3601, 7200, 2_592_000, 2_592_001, Number.MAX_SAFE_INTEGER + 1, true, [], {}, [{}], { extra: 1 },
  'x'.repeat(1025), 'exact', 'pinned-subset', 'io.github.acme', 'io.github.acme.*', 'io.github.acme/*', '*', fp, `${fp}=`, 'mailto:a@b.example', 'mailto:a b@c', 'https://x.example/y', 'http://x.example/y',
  ' https://registry.example', 'https://registry.example ', 'https://registry.example\t', 'HTTPS://registry.example', 'https:registry.example', 'https:/registry.example', 'ftp://registry.example', 'https://', 'https://[::1]:8443/', 'https://reg istry.example', 'https://exämple.org/', 'https://registry.example/%zz',
];

describe('plainPolicyFile', () => {
  it('answers for a full policy and a minimal one, as zod does (defaults filled in)', () => {
    expect(agrees(full())).toBe(true);
    expect(agrees(minimal())).toBe(true);
    expect(plainPolicyFile(minimal())).toMatchObject({ publishers: [], reviewers: { publicKeys: [], identities: [], threshold: 1, highRiskThreshold: 2 }, maxStatusAgeSeconds: 86_400, liveTools: 'exact' });
  });

  it('never answers differently from zod for a mutated policy', () => {
    let answered = 0;
    let refused = 0;
    for (const base of [full(), minimal()]) {
      for (const path of paths(base)) {
        for (const to of REPLACEMENTS) {
          if (agrees(mutate(base, path, to))) answered++;
          else refused++;
        }
        const at = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], base);
        if (at !== null && typeof at === 'object' && !Array.isArray(at)) agrees(mutate(base, [...path, 'unknownKey'], 'x'));
      }
    }
    expect(answered).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });

  it('leaves to zod what its refinements refuse: a namespace twice, thresholds reversed, an offline age above the online one', () => {
    const twice = full();
    (twice.publishers as unknown[]).push({ namespace: 'io.github.acme' });
    expect(plainPolicyFile(twice)).toBeUndefined();
    expect(PolicyFile.safeParse(twice).success).toBe(false);
    expect(plainPolicyFile({ ...full(), reviewers: { threshold: 3, highRiskThreshold: 2 } })).toBeUndefined();
    expect(plainPolicyFile({ ...full(), maxStatusAgeSeconds: 300 })).toBeUndefined();
    expect(PolicyFile.safeParse({ ...full(), maxStatusAgeSeconds: 300 }).success).toBe(false);
  });

  it('never answers differently from zod for generated values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => void agrees(v)), { numRuns: 300 });
    const base = full();
    fc.assert(fc.property(fc.constantFrom(...paths(base)), fc.jsonValue({ maxDepth: 3 }), (path, to) => void agrees(mutate(base, path, to))), { numRuns: 3000 });
    fc.assert(fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('', ' ', '\n', '\t'), (url, pad) => void agrees(mutate(base, ['registry', 'url'], url + pad))), { numRuns: 500 });
  });

  it("lists the schema's own keys", () => {
    const keys = (s: { shape: object }) => Object.keys(s.shape).sort();
    const sorted = (set: ReadonlySet<string>) => [...set].sort();
    const { shape } = PolicyFile;
    expect(sorted(PLAIN_POLICY_KEYS.policy)).toEqual(keys(PolicyFile));
    expect(sorted(PLAIN_POLICY_KEYS.registry)).toEqual(keys(shape.registry));
    expect(sorted(PLAIN_POLICY_KEYS.publisher)).toEqual(keys(shape.publishers.unwrap().element));
    expect(sorted(PLAIN_POLICY_KEYS.reviewers)).toEqual(keys(shape.reviewers));
    expect(sorted(PLAIN_POLICY_KEYS.identity)).toEqual(keys(shape.reviewers.shape.identities.unwrap().element));
    expect(sorted(PLAIN_POLICY_KEYS.offline)).toEqual(keys(shape.offline.unwrap()));
  });
});
