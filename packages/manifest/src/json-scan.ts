import { pointer, type Finding } from './findings.js';

interface Frame {
  kind: 'object' | 'array';
  /** Object: keys seen so far. */
  keys: Set<string>;
  /** Object: the next string is a key. */
  expectKey: boolean;
  /** Path segment of the value being read: the current key or array index. */
  segment: string | number;
}

/**
 * Scans raw JSON text, before any `JSON.parse`, for what the parser would hide or choke on:
 * nesting deeper than `maxDepth` (refused at the first bracket past the bound, so a
 * 100,000-deep payload costs one linear pass and no recursion) and duplicate object keys
 * (RFC 8785 requires I-JSON; `JSON.parse` silently keeps the last duplicate, so two readers
 * could see two different manifests behind one signature).
 *
 * Syntax errors are left to `JSON.parse`; this scan only needs to be right on valid JSON and
 * to terminate on anything.
 */
export function scanJson(text: string, maxDepth: number): Finding[] {
  const findings: Finding[] = [];
  const stack: Frame[] = [];
  const path = (): Array<string | number> => stack.map((f) => f.segment);
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        top.expectKey = false;
        const raw = text.slice(start, i + 1);
        let key: string | undefined = raw.slice(1, -1);
        if (escaped) {
          try {
            key = JSON.parse(raw) as string;
          } catch {
            key = undefined; // malformed: JSON.parse of the whole text reports it
          }
        }
        if (key !== undefined) {
          if (top.keys.has(key)) {
            findings.push({
              path: pointer([...path().slice(0, -1), key]),
              rule: 'JSON_DUPLICATE_KEY',
              severity: 'error',
              message: `the key ${JSON.stringify(key)} appears twice in one object; duplicate keys are not allowed (RFC 8785, I-JSON)`,
            });
          }
          top.keys.add(key);
          top.segment = key;
        }
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) {
        findings.push({
          path: pointer(path()),
          rule: 'JSON_TOO_DEEP',
          severity: 'error',
          message: `JSON nesting is deeper than ${maxDepth} levels (at character ${i}); flatten the document`,
        });
        return findings;
      }
      stack.push(
        c === 0x7b
          ? { kind: 'object', keys: new Set(), expectKey: true, segment: '' }
          : { kind: 'array', keys: new Set(), expectKey: false, segment: 0 },
      );
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array' && typeof top.segment === 'number') top.segment++;
    }
  }
  return findings;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** UTF-8 length of a JS string without allocating its encoding. Lone surrogates count as U+FFFD (3 bytes). */
export function utf8Length(s: string): number {
  if (!NON_ASCII.test(s)) return s.length;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
