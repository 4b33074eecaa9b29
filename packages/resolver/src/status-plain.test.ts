import { StatusPredicate } from '@sigil/manifest';
import { describe, expect, it } from 'vitest';
import { plainStatusPredicate } from './status.js';

// Whenever the test takes a predicate, zod must accept it and give back the same value; every
// mutation below is either taken (then that holds) or left to zod.
const d = (c: string) => `sha256:${c.repeat(64)}`;
const base = (): Record<string, unknown> => ({
  registry: 'https://registry.example',
  issuedAt: '2026-11-24T12:00:00.000Z',
  expiresAt: '2026-11-25T12:00:00Z',
  nonce: 'n'.repeat(24),
  entries: [
    { ref: 'io.github.acme/a@1.0.0', status: 'approved', digest: d('a'), risk: 'low', approvals: [d('b')], newestApproved: '1.0.0' },
    { ref: 'io.github.acme/b@2.0.0', status: 'revoked', digest: d('c'), approvals: [], revokedAt: '2026-11-24T11:00:00Z', reason: 'key leaked' },
    { ref: 'io.github.acme/c@0.1.0', status: 'unknown', approvals: [] },
  ],
  audit: { seq: 42, hash: d('e') },
});
const entry = (p: Record<string, unknown>, i = 0) => (p.entries as Array<Record<string, unknown>>)[i]!;
const asProperty = (value: unknown) => ({ value, enumerable: true, writable: true, configurable: true });

const mutations: Array<[string, boolean, (p: Record<string, unknown>) => void]> = [
  ['none', true, () => {}],
  ['no nonce, no audit, no entries', true, (p) => (delete p.nonce, delete p.audit, (p.entries = []))],
  ['an empty nonce and reason', true, (p) => ((p.nonce = ''), (entry(p, 1).reason = ''))],
  ['a pending high-risk entry', true, (p) => Object.assign(entry(p), { status: 'pending', risk: 'high' })],
  ['audit at sequence 0', true, (p) => (p.audit = { seq: 0, hash: d('f') })],
  ['256 entries', true, (p) => (p.entries = Array.from({ length: 256 }, () => ({ ref: 'a@1', status: 'unknown', approvals: [] })))],
  ['257 entries', false, (p) => (p.entries = Array.from({ length: 257 }, () => ({ ref: 'a@1', status: 'unknown', approvals: [] })))],
  ['an extra key', false, (p) => (p.extra = 1)],
  ['an entry with an extra key', false, (p) => (entry(p).extra = 1)],
  ['an empty registry', false, (p) => (p.registry = '')],
  ['a long registry', false, (p) => (p.registry = 'r'.repeat(2049))],
  ['an issue time with an offset', false, (p) => (p.issuedAt = '2026-11-24T12:00:00+01:00')],
  ['an expiry that is no date', false, (p) => (p.expiresAt = '2026-02-30T12:00:00Z')],
  ['no expiry', false, (p) => delete p.expiresAt],
  ['a long nonce', false, (p) => (p.nonce = 'n'.repeat(129))],
  ['a nonce that is undefined', false, (p) => (p.nonce = undefined)],
  ['a negative audit sequence', false, (p) => (p.audit = { seq: -1, hash: d('f') })],
  ['a fractional audit sequence', false, (p) => (p.audit = { seq: 1.5, hash: d('f') })],
  ['an audit with an extra key', false, (p) => (p.audit = { seq: 1, hash: d('f'), extra: 1 })],
  ['an audit hash in upper case', false, (p) => (p.audit = { seq: 1, hash: d('F') })],
  ['entries that are no array', false, (p) => (p.entries = {})],
  ['a short ref', false, (p) => (entry(p).ref = 'ab')],
  ['another status', false, (p) => (entry(p).status = 'live')],
  ['a risk the status does not know', false, (p) => (entry(p).risk = 'critical')],
  ['a bad digest', false, (p) => (entry(p).digest = 'sha256:ab')],
  ['an entry without approvals', false, (p) => delete entry(p).approvals],
  ['65 approvals', false, (p) => (entry(p).approvals = Array.from({ length: 65 }, () => d('a')))],
  // eslint-disable-next-line no-sparse-arrays -- a hole, which every() would skip
  ['approvals with a hole', false, (p) => (entry(p).approvals = [, d('a')])],
  ['a revocation time that is no date', false, (p) => (entry(p, 1).revokedAt = 'yesterday')],
  ['a long reason', false, (p) => (entry(p, 1).reason = 'x'.repeat(4097))],
  ['a newest approved version with build metadata', false, (p) => (entry(p).newestApproved = '1.0.0+x')],
  ['an entry with a constructor key', false, (p) => Object.defineProperty(entry(p), 'constructor', asProperty(1))],
  ['a __proto__ key', false, (p) => Object.defineProperty(p, '__proto__', asProperty({}))],
  ['an array', false, (p) => Object.setPrototypeOf(p, Array.prototype)],
];

describe('the status predicate test that spares zod (plainStatusPredicate)', () => {
  it.each(mutations)('agrees with zod: %s', (_label, taken, mutate) => {
    const p = base();
    mutate(p);
    const parsed = StatusPredicate.safeParse(p);
    expect(plainStatusPredicate(p)).toBe(taken);
    if (taken) {
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(p);
    }
  });
});
