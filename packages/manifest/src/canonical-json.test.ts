import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson, manifestDigest, sha256 } from './index.js';

// Test vectors from RFC 8785 (JSON Canonicalization Scheme), A. Rundgren, B. Jordan, S. Erdtman,
// IETF 2020: section 3.2.2 (the sample), 3.2.3 (sorting) and appendix B (numbers).

describe('RFC 8785 examples', () => {
  it('canonicalises the sample of section 3.2.2', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('sorts keys by UTF-16 code units (section 3.2.3)', () => {
    const input = '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}';
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  const numbers: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(numbers)('serialises the IEEE 754 value %s as %s (appendix B)', (bits, text) => {
    const value = Buffer.from(bits, 'hex').readDoubleBE(0);
    expect(canonicalJson(value)).toBe(text);
  });

  it.each([
    ['NaN', '7fffffffffffffff'],
    ['Infinity', '7ff0000000000000'],
  ])('refuses %s (appendix B)', (_label, bits) => {
    expect(() => canonicalJson(Buffer.from(bits, 'hex').readDoubleBE(0))).toThrow(CanonicalJsonError);
  });
});

describe('when the JSON has keys JavaScript treats specially', () => {
  it('treats toJSON as data, not a method', () => {
    const a = JSON.parse('{"inputSchema":{"toJSON":{"b":1,"a":2},"type":"object"}}') as unknown;
    const b = JSON.parse('{"inputSchema":{"type":"object","toJSON":{"a":2,"b":1}}}') as unknown;
    expect(canonicalJson(a)).toBe('{"inputSchema":{"toJSON":{"a":2,"b":1},"type":"object"}}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('treats __proto__ and constructor as own keys', () => {
    const v = JSON.parse('{"z":1,"__proto__":{"x":[1]},"constructor":"c"}') as unknown;
    expect(canonicalJson(v)).toBe('{"__proto__":{"x":[1]},"constructor":"c","z":1}');
  });

  it('refuses what is not JSON data', () => {
    expect(() => canonicalJson({ a: () => 1 })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: 1n })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(new Date(0))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: '\ud800' })).toThrow(CanonicalJsonError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(CanonicalJsonError);
  });
});

// Arbitrary JSON whose keys are drawn mostly from the names JavaScript gives meaning to.
const specialKey = fc.constantFrom('toJSON', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'valueOf', 'toString', 'length', '0', '10', '9', '', '\u20ac', '\ud83d\ude00');
const key = fc.oneof(specialKey, fc.string({ maxLength: 6 }));
const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }), tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 4 }),
  object: fc.array(fc.tuple(key, tie('json')), { maxLength: 5 }),
}));
/** The JSON text of a generated tree, object entries in the given order (later duplicates dropped). */
function toText(node: unknown, reverse: boolean): string {
  if (Array.isArray(node)) return `[${node.map((n) => toText(n, reverse)).join(',')}]`;
  if (node && typeof node === 'object') {
    const seen = new Set<string>();
    const entries = (node as { entries: Array<[string, unknown]> }).entries.filter(([k]) => (seen.has(k) ? false : (seen.add(k), true)));
    const ordered = reverse ? [...entries].reverse() : entries;
    return `{${ordered.map(([k, v]) => `${JSON.stringify(k)}:${toText(v, reverse)}`).join(',')}}`;
  }
  return JSON.stringify(node);
}
const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }), tie('list'), tie('obj')),
  list: fc.array(tie('node'), { maxLength: 4 }),
  obj: fc.record({ entries: fc.array(fc.tuple(key, tie('node')), { maxLength: 5 }) }),
})).node;

describe('properties over arbitrary JSON with special keys', () => {
  it('does not depend on key order in the text', () => {
    fc.assert(
      fc.property(tree, (t) => {
        expect(canonicalJson(JSON.parse(toText(t, true)))).toBe(canonicalJson(JSON.parse(toText(t, false))));
      }),
      { numRuns: 500 },
    );
  });

  it('is valid JSON that parses back to the same canonical text (idempotent)', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const c = canonicalJson(JSON.parse(toText(t, false)));
        expect(canonicalJson(JSON.parse(c))).toBe(c);
      }),
      { numRuns: 500 },
    );
  });

  it('matches JSON.stringify with sorted keys on the same data', () => {
    const reference = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
      if (v !== null && typeof v === 'object') {
        const keys = Object.getOwnPropertyNames(v).sort();
        return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(Object.getOwnPropertyDescriptor(v, k)!.value)}`).join(',')}}`;
      }
      return JSON.stringify(v);
    };
    fc.assert(
      fc.property(json, (v) => {
        const parsed = JSON.parse(JSON.stringify(v)) as unknown;
        expect(canonicalJson(parsed)).toBe(reference(parsed));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the manifest digest', () => {
  it('changes with a toJSON key and not with its position', () => {
    const base = { name: 'io.github.acme/x', version: '1.0.0', tools: [{ name: 't', inputSchema: { type: 'object', toJSON: 1 } }] };
    const moved = { tools: [{ inputSchema: { toJSON: 1, type: 'object' }, name: 't' }], version: '1.0.0', name: 'io.github.acme/x' };
    expect(sha256(canonicalJson(moved))).toBe(sha256(canonicalJson(base)));
    expect(manifestDigest(base as never)).not.toBe(manifestDigest({ ...base, tools: [{ name: 't', inputSchema: { type: 'object' } }] } as never));
  });
});
