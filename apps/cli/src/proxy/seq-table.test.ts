import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeqTable } from './seq-table.js';

describe('SeqTable', () => {
  it('keeps each value under its number until deleted, and nothing under any other', () => {
    const t = new SeqTable<string>();
    t.set(1, 'a');
    t.set(2, 'b');
    expect([t.get(1), t.get(2), t.get(3), t.get(1025), t.size]).toEqual(['a', 'b', undefined, undefined, 2]);
    expect(t.delete(1)).toBe(true);
    expect(t.delete(1)).toBe(false);
    expect([t.get(1), t.get(2), t.size]).toEqual([undefined, 'b', 1]);
  });

  it('keeps a value that outlives its slot: a thousand later numbers pass over it and it is still found, in order', () => {
    const t = new SeqTable<number>();
    t.set(1, 1);
    t.set(5, 5);
    // Numbers 6 to 5000 come and go, wrapping the ring several times over slots 1 and 5.
    for (let seq = 6; seq <= 5000; seq++) {
      t.set(seq, seq);
      if (seq % 7 !== 0) t.delete(seq);
    }
    expect(t.get(1)).toBe(1);
    expect(t.get(5)).toBe(5);
    const kept = t.entries().map(([seq]) => seq);
    expect(kept).toEqual([1, 5, ...Array.from({ length: 5000 }, (_, i) => i + 1).filter((s) => s >= 6 && s % 7 === 0)]);
    expect(t.size).toBe(kept.length);
    for (const seq of kept) expect(t.get(seq)).toBe(seq);
    expect(t.get(1 + 1024)).toBeUndefined();
    expect(t.delete(1)).toBe(true);
    expect(t.get(1)).toBeUndefined();
    expect(t.size).toBe(kept.length - 1);
  });

  it('clear forgets everything, in the ring and out of it', () => {
    const t = new SeqTable<string>();
    t.set(1, 'a');
    t.set(1025, 'b'); // 1 moves out of the ring
    t.clear();
    expect([t.get(1), t.get(1025), t.size, t.entries()]).toEqual([undefined, undefined, 0, []]);
  });

  it('answers as a Map would, whatever the order of adds and deletes (long waits and short alike)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 3000 }).map((skip) => ({ add: skip })), fc.nat(200).map((back) => ({ back }))), { maxLength: 400 }), (ops) => {
        const t = new SeqTable<number>();
        const model = new Map<number, number>();
        let seq = 0;
        // Numbers never added, 0 (an empty slot's mark) among them, hold nothing.
        for (const none of [0, -1, 1024, 0.5]) expect([t.delete(none), t.get(none)]).toEqual([false, undefined]);
        for (const op of ops) {
          if ('add' in op) {
            seq += op.add;
            t.set(seq, -seq);
            model.set(seq, -seq);
          } else {
            const target = seq - op.back;
            expect(t.delete(target)).toBe(model.delete(target));
          }
          expect(t.size).toBe(model.size);
        }
        for (let probe = 0; probe <= seq + 1; probe += 97) expect(t.get(probe)).toBe(model.get(probe));
        for (const [k, v] of model) expect(t.get(k)).toBe(v);
        expect(t.entries()).toEqual([...model].sort((a, b) => a[0] - b[0]));
      }),
    );
  });
});
