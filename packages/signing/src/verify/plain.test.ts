import { TIMESTAMP_PATTERN } from '@sigil/manifest';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ApprovalPredicate, ManifestPredicate, Statement, STATEMENT_TYPE } from '../statements.js';
import { PLAIN_PREDICATE, plainPredicate, plainStatement } from './attestations.js';
import { ENTRY_KEYS, plainCacheEntry, SerializedCacheEntry } from './cache.js';

// Whenever a plain test takes a value, zod must accept it and give back the same value;
// every mutation below is either taken (then that holds) or left to zod.
const base = (): Record<string, unknown> => ({
  _type: STATEMENT_TYPE,
  subject: [{ name: 'io.github.acme/weather@1.0.0', digest: { sha256: 'ab'.repeat(32) } }],
  predicateType: 'https://sigil.dev/manifest/v1',
  predicate: { name: 'io.github.acme/weather', version: '1.0.0' },
});
const subject = (s: Record<string, unknown>) => (s.subject as Array<Record<string, unknown>>)[0]!;

const mutations: Array<[string, boolean, (s: Record<string, unknown>) => void]> = [
  ['none', true, () => {}],
  ['many subjects, several digests', true, (s) => (s.subject = Array.from({ length: 3 }, (_, i) => ({ name: `n${i}`, digest: { sha256: 'ab', sha512: 'cd' } })))],
  ['an empty digest record', true, (s) => (subject(s).digest = {})],
  ['an extra key (zod strips it)', false, (s) => (s.extra = 1)],
  ['another _type', false, (s) => (s._type = 'https://in-toto.io/Statement/v0.1')],
  ['no predicate', false, (s) => delete s.predicate],
  ['a predicate that is an array', false, (s) => (s.predicate = [])],
  ['a predicate with a constructor key', false, (s) => (s.predicate = { constructor: 1 })],
  ['an empty predicate type', false, (s) => (s.predicateType = '')],
  ['a long predicate type', false, (s) => (s.predicateType = 'x'.repeat(513))],
  ['no subject', false, (s) => (s.subject = [])],
  ['too many subjects', false, (s) => (s.subject = Array.from({ length: 1025 }, () => subject(s)))],
  ['a subject with an extra key', false, (s) => (subject(s).uri = 'x')],
  ['a subject without a digest', false, (s) => delete subject(s).digest],
  ['an empty subject name', false, (s) => (subject(s).name = '')],
  ['a digest in upper case', false, (s) => (subject(s).digest = { sha256: 'AB' })],
  ['an empty digest value', false, (s) => (subject(s).digest = { sha256: '' })],
  ['a long algorithm name', false, (s) => (subject(s).digest = { ['a'.repeat(33)]: 'ab' })],
  ['a numeric digest', false, (s) => (subject(s).digest = { sha256: 1 })],
  ['a __proto__ key', false, (s) => Object.defineProperty(s, '__proto__', { value: {}, enumerable: true, writable: true, configurable: true })],
];

describe('the statement test that spares zod (plainStatement)', () => {
  it.each(mutations)('agrees with zod: %s', (_label, taken, mutate) => {
    const s = base();
    mutate(s);
    const parsed = Statement.safeParse(s);
    expect(plainStatement(s)).toBe(taken);
    if (taken) {
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(s);
    }
  });
});

const entry = (): Record<string, unknown> => ({
  key: 'sigil-verify-4:abc:sha256:00',
  signer: { kind: 'certificate', identity: 'mailto:a@b.example', keyFingerprint: 'SHA256:x', ca: 'SHA256:c', caChain: ['SHA256:c', 'SHA256:r'], signedAt: '2026-11-24T09:00:00.000Z' },
  payload: 'eyJ9',
  payloadType: 'application/vnd.in-toto+json',
  bundleDigest: 'sha256:00',
});
const signer = (e: Record<string, unknown>) => e.signer as Record<string, unknown>;

const entryMutations: Array<[string, boolean, (e: Record<string, unknown>) => void]> = [
  ['none', true, () => {}],
  ['a key signer', true, (e) => (e.signer = { kind: 'key', keyFingerprint: 'SHA256:x' })],
  ['empty strings', true, (e) => ((e.payload = ''), (signer(e).identity = ''))],
  ['a key signer with an identity', false, (e) => (e.signer = { kind: 'key', keyFingerprint: 'SHA256:x', identity: 'i' })],
  ['a certificate signer without its chain', false, (e) => delete signer(e).caChain],
  ['a signer of another kind', false, (e) => (signer(e).kind = 'key')],
  ['an extra key', false, (e) => (e.extra = 1)],
  ['no bundle digest', false, (e) => delete e.bundleDigest],
  ['a long key', false, (e) => (e.key = 'k'.repeat(257))],
  ['a long identity', false, (e) => (signer(e).identity = 'i'.repeat(1025))],
  ['a chain of 17', false, (e) => (signer(e).caChain = Array.from({ length: 17 }, () => 'c'))],
  ['a numeric chain item', false, (e) => (signer(e).caChain = [1])],
  // eslint-disable-next-line no-sparse-arrays -- a hole, which every() would skip
  ['a chain with a hole (an in-memory value: load() is public)', false, (e) => (signer(e).caChain = [, 'SHA256:c'])],
  ['a long signing time', false, (e) => (signer(e).signedAt = 't'.repeat(65))],
  ['a numeric payload', false, (e) => (e.payload = 1)],
];

describe('the cache entry test that spares zod (plainCacheEntry)', () => {
  it.each(entryMutations)('agrees with zod: %s', (_label, taken, mutate) => {
    const e = entry();
    mutate(e);
    const parsed = SerializedCacheEntry.safeParse(e);
    expect(plainCacheEntry(e)).toBe(taken);
    if (taken) {
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(e);
    }
  });
});

const manifestPredicate = (): Record<string, unknown> => ({ name: 'io.github.acme/weather', version: '1.0.0', toolsDigest: `sha256:${'ab'.repeat(32)}` });
const approvalPredicate = (): Record<string, unknown> => ({ decision: 'approved', reviewer: 'alice', risk: 'low', time: '2026-11-24T10:00:00.000Z' });
const asProperty = (value: unknown) => ({ value, enumerable: true, writable: true, configurable: true });

const predicateMutations: Array<[string, z.ZodType, () => Record<string, unknown>, boolean, (p: Record<string, unknown>) => void]> = [
  ['manifest: none', ManifestPredicate, manifestPredicate, true, () => {}],
  ['manifest: a prerelease version', ManifestPredicate, manifestPredicate, true, (p) => (p.version = '1.0.0-rc.1')],
  ['manifest: an extra key', ManifestPredicate, manifestPredicate, false, (p) => (p.extra = 1)],
  ['manifest: no tools digest', ManifestPredicate, manifestPredicate, false, (p) => delete p.toolsDigest],
  ['manifest: a tools digest in upper case', ManifestPredicate, manifestPredicate, false, (p) => (p.toolsDigest = String(p.toolsDigest).toUpperCase())],
  ['manifest: a short tools digest', ManifestPredicate, manifestPredicate, false, (p) => (p.toolsDigest = 'sha256:ab')],
  ['manifest: a bad name', ManifestPredicate, manifestPredicate, false, (p) => (p.name = 'Bad Name')],
  ['manifest: a name without namespace', ManifestPredicate, manifestPredicate, false, (p) => (p.name = 'weather')],
  ['manifest: a version with build metadata', ManifestPredicate, manifestPredicate, false, (p) => (p.version = '1.0.0+x')],
  ['manifest: a numeric version', ManifestPredicate, manifestPredicate, false, (p) => (p.version = 1)],
  ['manifest: a constructor key', ManifestPredicate, manifestPredicate, false, (p) => Object.defineProperty(p, 'constructor', asProperty(1))],
  ['manifest: a __proto__ key', ManifestPredicate, manifestPredicate, false, (p) => Object.defineProperty(p, '__proto__', asProperty({}))],
  ['approval: none', ApprovalPredicate, approvalPredicate, true, () => {}],
  ['approval: a rejection at high risk with a comment', ApprovalPredicate, approvalPredicate, true, (p) => Object.assign(p, { decision: 'rejected', risk: 'critical', comment: 'no' })],
  ['approval: a time without fraction', ApprovalPredicate, approvalPredicate, true, (p) => (p.time = '2026-11-24T10:00:00Z')],
  ['approval: a reviewer of 256', ApprovalPredicate, approvalPredicate, true, (p) => (p.reviewer = 'r'.repeat(256))],
  ['approval: a comment of 4096', ApprovalPredicate, approvalPredicate, true, (p) => (p.comment = 'c'.repeat(4096))],
  ['approval: a reviewer of 257', ApprovalPredicate, approvalPredicate, false, (p) => (p.reviewer = 'r'.repeat(257))],
  ['approval: an empty reviewer', ApprovalPredicate, approvalPredicate, false, (p) => (p.reviewer = '')],
  ['approval: an empty comment', ApprovalPredicate, approvalPredicate, false, (p) => (p.comment = '')],
  ['approval: a comment of 4097', ApprovalPredicate, approvalPredicate, false, (p) => (p.comment = 'c'.repeat(4097))],
  ['approval: a comment that is undefined', ApprovalPredicate, approvalPredicate, false, (p) => (p.comment = undefined)],
  ['approval: another decision', ApprovalPredicate, approvalPredicate, false, (p) => (p.decision = 'maybe')],
  ['approval: another risk', ApprovalPredicate, approvalPredicate, false, (p) => (p.risk = 'none')],
  ['approval: a time with an offset', ApprovalPredicate, approvalPredicate, false, (p) => (p.time = '2026-11-24T10:00:00+01:00')],
  ['approval: a time that is no date', ApprovalPredicate, approvalPredicate, false, (p) => (p.time = '2026-02-30T10:00:00Z')],
  ['approval: a date without time', ApprovalPredicate, approvalPredicate, false, (p) => (p.time = '2026-11-24')],
  ['approval: no time', ApprovalPredicate, approvalPredicate, false, (p) => delete p.time],
  ['approval: an extra key', ApprovalPredicate, approvalPredicate, false, (p) => (p.extra = 1)],
  ['approval: an array', ApprovalPredicate, () => [] as unknown as Record<string, unknown>, false, () => {}],
  ['the statement schema (no plain test)', Statement, base, false, () => {}],
];

describe('the predicate test that spares zod (plainPredicate)', () => {
  it.each(predicateMutations)('agrees with zod: %s', (_label, schema, make, taken, mutate) => {
    const p = make();
    mutate(p);
    const parsed = schema.safeParse(p);
    expect(plainPredicate(schema, p)).toBe(taken);
    if (taken) {
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(p);
    }
  });
});

// The plain tests' key and value lists are written out (a start builds no schema for them): they
// must be the schemas' own.
describe('the plain tests’ lists', () => {
  it('are the keys and values of the schemas they stand for', () => {
    const keys = (schema: { shape: object }) => Object.keys(schema.shape).sort();
    expect([...PLAIN_PREDICATE.manifestKeys].sort()).toEqual(keys(ManifestPredicate));
    expect([...PLAIN_PREDICATE.approvalKeys].sort()).toEqual(keys(ApprovalPredicate));
    expect([...PLAIN_PREDICATE.decisions]).toEqual(ApprovalPredicate.shape.decision.options);
    expect([...PLAIN_PREDICATE.risks]).toEqual(ApprovalPredicate.shape.risk.options);
    expect([...PLAIN_PREDICATE.statementKeys].sort()).toEqual(keys(Statement));
    expect([...ENTRY_KEYS].sort()).toEqual(keys(SerializedCacheEntry));
    // The approval's time is tested with TIMESTAMP_PATTERN: the same zod date-time check.
    expect((ApprovalPredicate.shape.time._zod.def as { pattern?: RegExp }).pattern?.source).toBe(TIMESTAMP_PATTERN.source);
  });
});
