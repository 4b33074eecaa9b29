/**
 * Text written so that keywords do not look like keywords: letters spaced out (`I g n o r e   a l l`,
 * `I.G.N.O.R.E`, `d-o-n-o-t`), words hyphenated across lines (`instruc-⏎tions`), and phrases
 * written as one identifier (`ignore_previous_instructions`, `doNotTellTheUser`). `joinSpacing`
 * gives the text with those joined, where each of its characters came from, and the windows
 * around the joins: the prose rules read those windows as a second view of the same string.
 */
export interface JoinedText {
  text: string;
  /** Offset in the original of each offset in `text` (one more entry for the end). */
  map: Int32Array;
  /** [start, end) ranges of `text` around the joins, merged: the only parts worth reading again. */
  windows: [number, number][];
}

// Letters: Latin (with Latin-1 and Extended), Greek, Cyrillic, as plain BMP ranges (no `u` flag:
// the quick test runs on every prose string and stays a simple scan).
const L = 'A-Za-z\\u00c0-\\u024f\\u0370-\\u03ff\\u0400-\\u04ff';
/** Six or more single letters separated by one to three spaces (words separated by two or more). */
const SPACED = new RegExp(`(?<![${L}0-9])[${L}](?:[ \\t]{1,3}[${L}](?![${L}0-9])){5,}`, 'g');
/** Three or more single letters joined by one repeated separator: `I.G.N.O.R.E`, `d-o-n-e`. */
const DOTTED = new RegExp(`(?<![${L}0-9])[${L}]([.·*_~+|\\-])[${L}](?:\\1[${L}]){1,}(?![${L}0-9])`, 'g');
/** Four or more words joined by one repeated separator: `IGNORE—ALL—PREVIOUS—INSTRUCTIONS`, `do-not-tell-the-user`. */
const CHAINED = new RegExp(`(?<![${L}0-9])[${L}]{1,20}([—–_.+*~|\\-])[${L}]{1,20}(?:\\1[${L}]{1,20}){2,}(?![${L}0-9])`, 'g');
/** A word broken at a line end with a hyphen. */
const WRAPPED = new RegExp(`(?<=[${L}])-[ \\t]{0,8}\\r?\\n[ \\t]{0,8}(?=[${L}])`, 'g');
/**
 * Identifiers of three or more snake_case parts, or four or more camelCase humps, standing in prose:
 * not code (a call `name(`, a quoted or backticked name, a path, a key `name=`), which names a thing.
 */
const SNAKE = /\b[A-Za-z][A-Za-z0-9]{0,40}(?:_[A-Za-z0-9]{1,40}){2,}\b/g;
const CAMEL = /\b[a-z]{1,40}(?:[A-Z][a-z0-9]{0,40}){3,}\b/g;
const CODE_BEFORE = new Set(['`', "'", '"', '/', '=', '$', '@', '#', '\\', '-']);
const CODE_AFTER = new Set(['`', "'", '"', '(', '/', '=', '[', '-']);
const ALNUM = /[A-Za-z0-9]/;
/** An identifier standing in prose, not in code: no quote, call, path, member access or key touches it (a full stop may end its sentence). */
const inProse = (text: string, start: number, end: number): boolean =>
  !CODE_BEFORE.has(text[start - 1] ?? '') && !CODE_AFTER.has(text[end] ?? '') && !(text[start - 1] === '.' && ALNUM.test(text[start - 2] ?? '')) && !(text[end] === '.' && ALNUM.test(text[end + 1] ?? ''));
/** Text read again on each side of a join: more than any rule pattern spans. */
const CONTEXT = 160;

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The joined view of `text`, or undefined when there is nothing to join. */
export function joinSpacing(text: string): JoinedText | undefined {
  const edits: Edit[] = [];
  for (const m of text.matchAll(SPACED)) {
    // Words are separated by two or more spaces; letters within a word by one.
    const words = m[0].split(/[ \t]{2,}/).map((w) => w.replace(/[ \t]/g, ''));
    edits.push({ start: m.index, end: m.index + m[0].length, text: words.join(' ') });
  }
  for (const m of text.matchAll(DOTTED)) edits.push({ start: m.index, end: m.index + m[0].length, text: m[0].replaceAll(m[1]!, '') });
  for (const m of text.matchAll(CHAINED)) if (inProse(text, m.index, m.index + m[0].length)) edits.push({ start: m.index, end: m.index + m[0].length, text: m[0].replaceAll(m[1]!, ' ') });
  for (const m of text.matchAll(WRAPPED)) edits.push({ start: m.index, end: m.index + m[0].length, text: '' });
  for (const m of text.matchAll(SNAKE)) if (inProse(text, m.index, m.index + m[0].length)) edits.push({ start: m.index, end: m.index + m[0].length, text: m[0].replaceAll('_', ' ') });
  for (const m of text.matchAll(CAMEL)) if (inProse(text, m.index, m.index + m[0].length)) edits.push({ start: m.index, end: m.index + m[0].length, text: m[0].replace(/([a-z0-9])([A-Z])/g, '$1 $2') });
  if (!edits.length) return undefined;
  edits.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  const map: number[] = [];
  const windows: [number, number][] = [];
  let at = 0;
  for (const e of edits) {
    if (e.start < at) continue; // overlapping: the first (longest) edit wins
    for (let k = at; k < e.start; k++) map.push(k);
    out += text.slice(at, e.start);
    const from = Math.max(0, out.length - CONTEXT);
    // Characters of a replacement map to the start of what they replace, proportionally.
    for (let k = 0; k < e.text.length; k++) map.push(e.start + Math.floor(((e.end - e.start) * k) / Math.max(1, e.text.length)));
    out += e.text;
    const last = windows[windows.length - 1];
    if (last && from <= last[1]) last[1] = out.length;
    else windows.push([from, out.length]);
    at = e.end;
  }
  for (let k = at; k < text.length; k++) map.push(k);
  out += text.slice(at);
  map.push(text.length);
  if (out === text) return undefined;
  for (const w of windows) w[1] = Math.min(out.length, w[1] + CONTEXT);
  // Windows widened after the joins may now overlap: merge them.
  const merged: [number, number][] = [];
  for (const w of windows) {
    const last = merged[merged.length - 1];
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else merged.push(w);
  }
  return { text: out, map: Int32Array.from(map), windows: merged };
}
