import { remove } from 'confusables';
import { isHidden } from './finding.js';

/** Printable ASCII, tab and newline: the text the rules read as it is (no folding needed). */
const PLAIN = /^[\x20-\x7e\n\t]*$/;

/** One string as the rules read it, with the way back to the original for excerpts. */
export interface FoldedText {
  /** The text matched by the rules. */
  text: string;
  /** Offset in the original of each offset in `text` (one more entry for the end); absent when they are the same. */
  map: Int32Array | undefined;
}

const cache = new Map<number, string>();

/**
 * Text as the keyword rules see it, computed once per string: NFKC (fullwidth and compatibility
 * forms to plain), diacritics dropped, confusable characters to their Latin look-alikes
 * (Cyrillic "і", Greek "Ι"…), lowercase. Hidden characters are dropped here (they are errors of
 * their own). Printable ASCII is returned as it is: the rules match case-insensitively and spell
 * the ASCII look-alikes (`l`, `1`, `|` for `i`, `0` for `o`) in their patterns, so the common
 * case costs one test. Each character is folded on its own (and cached), so every offset of the
 * folded text maps back to the original.
 */
export function foldText(text: string): FoldedText {
  if (PLAIN.test(text)) return { text, map: undefined };
  let out = '';
  const map: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const folded = foldCodePoint(cp);
    for (let k = 0; k < folded.length; k++) map.push(i);
    out += folded;
    i += width;
  }
  map.push(text.length);
  return { text: out, map: Int32Array.from(map) };
}

/** The fold of one code point (cached: text repeats its characters). */
function foldCodePoint(cp: number): string {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? String.fromCharCode(cp + 32) : String.fromCharCode(cp);
  let folded = cache.get(cp);
  if (folded === undefined) {
    if (isHidden(cp)) folded = '';
    else {
      const c = String.fromCodePoint(cp);
      // NFKD then no combining marks: "é" reads as "e"; then the confusable skeleton.
      const base = c.normalize('NFKD').replace(/\p{M}/gu, '') || c;
      folded = remove(base.normalize('NFKC')).toLowerCase();
      if (cp === 0x2019 || cp === 0x2018 || cp === 0x02bc) folded = "'";
    }
    if (cache.size < 65_536) cache.set(cp, folded);
  }
  return folded;
}

/** The fold as plain text (for callers that need no offsets). */
export function fold(text: string): string {
  return foldText(text).text.toLowerCase();
}

/**
 * The ASCII look-alikes a letter of a rule pattern also matches (`1gn0r3`, `pr3v10u5`, `n07`):
 * `i` and `l` match `1`, `|`, `!` and each other, `o` matches `0`, and the digits read as letters
 * in leetspeak match theirs: `3` for `e`, `4` for `a`, `5` for `s`, `7` for `t`.
 */
export const LOOKALIKES: Readonly<Record<string, string>> = { i: '[il1|!]', l: '[il1|!]', o: '[o0]', e: '[e3]', a: '[a4]', s: '[s5]', t: '[t7]' };

/**
 * Builds a rule pattern in the folded alphabet from plain lowercase source: outside character
 * classes and escapes, each letter of LOOKALIKES also matches its look-alikes, so `1gn0r3` and
 * `ignore` match alike. Quantifier braces and group syntax are kept.
 */
export function lookalike(source: string): string {
  let out = '';
  let inClass = false;
  for (let k = 0; k < source.length; k++) {
    const c = source[k]!;
    if (c === '\\') {
      out += c + (source[k + 1] ?? '');
      k++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '(' && source[k + 1] === '?') {
      // (?: (?= (?! (?<= (?<!
      const end = source[k + 2] === '<' ? k + 4 : k + 3;
      out += source.slice(k, end);
      k = end - 1;
    } else if (c === '{') {
      const end = source.indexOf('}', k);
      out += source.slice(k, end + 1);
      k = end;
    } else out += LOOKALIKES[c] ?? c;
  }
  return out;
}
