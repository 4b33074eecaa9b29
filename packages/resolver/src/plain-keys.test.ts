import { RiskLevel, StatusEntry, StatusPredicate, VersionStatus } from '@sigil/manifest';
import { describe, expect, it } from 'vitest';
import { LockEntry, Lockfile, PLAIN_LOCKFILE } from './lockfile.js';
import { PLAIN_STATUS } from './status.js';
import { ENVELOPE_KEYS, RecordEnvelope } from './verify-version.js';

// The plain tests' key and value lists are written out, so that a start builds no zod schema for
// them (see deferSchema in @sigil/manifest): they must be the schemas' own.
const keys = (schema: { shape: object }) => Object.keys(schema.shape).sort();

describe('the plain tests’ lists', () => {
  it('are the keys and values of the schemas they stand for', () => {
    expect([...PLAIN_STATUS.predicateKeys].sort()).toEqual(keys(StatusPredicate));
    expect([...PLAIN_STATUS.entryKeys].sort()).toEqual(keys(StatusEntry));
    expect([...PLAIN_STATUS.statuses]).toEqual(VersionStatus.options);
    expect([...PLAIN_STATUS.risks]).toEqual(RiskLevel.options);
    expect([...PLAIN_LOCKFILE.keys].sort()).toEqual(keys(Lockfile));
    expect([...PLAIN_LOCKFILE.entryKeys].sort()).toEqual(keys(LockEntry));
    expect([...ENVELOPE_KEYS].sort()).toEqual(keys(RecordEnvelope));
  });
});
