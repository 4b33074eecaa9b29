import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, parseStrict } from './message.js';

/**
 * An independent oracle for the strict reading, written the slow and obvious way: a recursive-descent
 * JSON parser (RFC 8259) over the decoded text that refuses duplicate keys as it meets them, checks
 * every string and key for lone surrogates and every number for overflow (and an integer literal for one it would go on as another, a non-zero
 * literal for underflow to zero), and bounds the depth.
 * parseStrict must agree with it on every input; it takes shortcuts (JSON.parse, one walk, a key
 * count, the surrogate check only where the text has a `\u` escape) that this one does not.
 */
function referenceStrict(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw new Error('refused');
  };
  const string = (): string => {
    if (text[i] !== '"') fail();
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail();
      const c = text[i++]!;
      if (c === '"') break;
      if (c.charCodeAt(0) < 0x20) fail();
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
        out += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
        i += 4;
      } else fail();
    }
    for (let k = 0; k < out.length; k++) {
      const u = out.charCodeAt(k);
      if (u >= 0xd800 && u <= 0xdbff && (k + 1 < out.length ? (out.charCodeAt(k + 1) & 0xfc00) === 0xdc00 : false)) k++;
      else if (u >= 0xd800 && u <= 0xdfff) fail();
    }
    return out;
  };
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) fail();
      i++;
      ws();
      const close = c === '{' ? '}' : ']';
      const keys = new Set<string>();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          const key = string();
          if (keys.has(key)) fail();
          keys.add(key);
          ws();
          if (text[i++] !== ':') fail();
        }
        value(depth + 1);
        ws();
        const sep = text[i++];
        if (sep === close) return;
        if (sep !== ',') fail();
      }
    }
    if (c === '"') return void string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!number) fail();
    const literal = number![0];
    if (!Number.isFinite(Number(literal))) fail();
    // An integer literal goes on (as JSON.stringify writes the double it reads as) as the integer
    // it says, and a non-zero literal never reads as zero.
    if (number![2] === undefined && number![3] === undefined) {
      const forwarded = JSON.stringify(Number(literal));
      if (!/^-?\d+$/.test(forwarded) || BigInt(forwarded) !== BigInt(literal)) fail();
    }
    if (/[1-9]/.test(literal.split(/[eE]/)[0]!) && Number(literal) === 0) fail();
    i += number![0].length;
  };
  try {
    value(0);
    ws();
    return i === text.length;
  } catch {
    return false;
  }
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** Strings from an alphabet rich in what the strict reading cares about: quotes, backslashes, surrogates. */
const tricky = fc.string({ unit: fc.constantFrom('a', 'b', '"', '\\', '/', '\n', '\u0000', 'é', '\ud800', '\udc00', '\ud83d\ude00', 'u', ':', '{', ' ') as fc.Arbitrary<string>, maxLength: 6 });
const values = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double(), fc.integer(), tricky, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(tricky, tie('value'), { maxKeys: 4 })),
})).value;

/** Writes every character of every string as a `\u` escape (as some peers do). */
const escapeAll = (text: string): string => text.replace(/"(?:[^"\\]|\\.)*"/g, (s) => `"${[...(JSON.parse(s) as string)].flatMap((ch) => [...Array(ch.length).keys()].map((k) => `\\u${ch.charCodeAt(k).toString(16).padStart(4, '0')}`)).join('')}"`);
/** Repeats the first key of the first object (a duplicate, unless the object is empty). */
const duplicateFirstKey = (text: string): string => text.replace(/\{("(?:[^"\\]|\\.)*"):/, '{$1:0,$1:');

describe('parseStrict agrees with the reference strict reading', () => {
  it('on JSON text as JSON.stringify writes it, with every string escaped, and with a key repeated', () => {
    fc.assert(
      fc.property(values, fc.constantFrom('plain', 'escaped', 'duplicate', 'spaced'), (value, form) => {
        let text = JSON.stringify(value);
        if (form === 'escaped') text = escapeAll(text);
        if (form === 'duplicate') text = duplicateFirstKey(text);
        if (form === 'spaced') text = JSON.stringify(value, null, 1);
        const parsed = parseStrict(bytes(text));
        expect(parsed.ok).toBe(referenceStrict(bytes(text)));
        // A line forwarded as it is must be exactly what JSON.stringify writes for what was checked.
        if (parsed.ok && parsed.wire) expect(parsed.wire.text).toBe(JSON.stringify(parsed.value));
      }),
      { numRuns: 500 },
    );
  });

  it('on arbitrary short texts over a JSON-ish alphabet', () => {
    const token = fc.constantFrom('{', '}', '[', ']', ',', ':', '"a"', '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '1', '1e400', '-0', '1.5', 'null', 'true', ' ', '"\\u0061"', '"\\\\u0061"', '1.0', '1E+21', '"\\/"', '"\\u001f"', '"\\u001F"', '"1"', '"id"', '9007199254740993', '9007199254740994', '1e-400', '0e-400', '-12345678901234567890');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), (tokens) => {
        const text = tokens.join('');
        const parsed = parseStrict(bytes(text));
        expect(parsed.ok).toBe(referenceStrict(bytes(text)));
        if (parsed.ok && parsed.wire) expect(parsed.wire.text).toBe(JSON.stringify(parsed.value));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a surrogate written raw in the bytes (CESU-8), which is not UTF-8', () => {
    const cesu = Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]);
    expect(parseStrict(cesu)).toMatchObject({ ok: false });
    expect(referenceStrict(cesu)).toBe(false);
  });

  it('refuses a lone surrogate escaped in a key or a value, even beside an escaped backslash', () => {
    for (const text of ['{"\\ud800":1}', '["\\\\", "\\udfff"]', '{"a":"\\\\u0061","b":"\\ud800x"}']) expect(parseStrict(bytes(text))).toMatchObject({ ok: false });
    expect(parseStrict(bytes('{"a":"\\\\ud800"}'))).toMatchObject({ ok: true }); // an escaped backslash, then text
  });
});
