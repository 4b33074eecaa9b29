import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Timestamp, TIMESTAMP_PATTERN } from './common.js';

describe('TIMESTAMP_PATTERN', () => {
  it("is the Timestamp schema's own pattern", () => {
    const pattern = (Timestamp._zod.def as { pattern?: RegExp }).pattern;
    expect(pattern).toBeInstanceOf(RegExp);
    expect(TIMESTAMP_PATTERN.source).toBe(pattern!.source);
    expect(TIMESTAMP_PATTERN.flags).toBe(pattern!.flags);
  });

  it('accepts exactly what the schema accepts', () => {
    const samples = ['2026-11-24T12:00:00Z', '2026-11-24T12:00:00.123Z', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2026-11-24T12:00Z', '2026-11-24T12:00:00+01:00', '2026-11-24 12:00:00Z', '2026-13-01T00:00:00Z', ''];
    for (const s of samples) expect(TIMESTAMP_PATTERN.test(s)).toBe(Timestamp.safeParse(s).success);
    fc.assert(
      fc.property(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), (s) => TIMESTAMP_PATTERN.test(s) === Timestamp.safeParse(s).success),
      { numRuns: 500 },
    );
  });
});
