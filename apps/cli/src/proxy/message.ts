/**
 * JSON-RPC classification for the firewall: one strict parse of the bytes received, then one
 * verdict on the shape. The firewall forwards `JSON.stringify` of what this returns, never the
 * raw line, so the peer on the other side parses exactly what was checked.
 */

import { variantKeyProblem } from './member-names.js';

export type JsonRpcId = string | number;
type Obj = Record<string, unknown>;

/**
 * A line whose text is exactly what `JSON.stringify` writes for its parsed value (no whitespace,
 * only the escapes and number forms JSON.stringify uses, no key the parse would reorder), so the
 * text can be forwarded as it is, or with its top-level id replaced (`withId`), instead of
 * serialising the value again: the bytes are the same either way. `idStart`/`idEnd` bound the
 * top-level id's value (-1 when it has none that is a string or a number); `members` counts the
 * top-level object's keys.
 */
export interface Wire {
  text: string;
  idStart: number;
  idEnd: number;
  members: number;
}

export type Classified =
  | { kind: 'request'; id: JsonRpcId; method: string; params: Obj | undefined; message: Obj; wire: Wire | undefined }
  | { kind: 'notification'; method: string; params: Obj | undefined; message: Obj; wire: Wire | undefined }
  | { kind: 'response'; id: JsonRpcId; result: Obj | undefined; error: Obj | undefined; message: Obj; wire: Wire | undefined }
  | { kind: 'batch' }
  | { kind: 'invalid'; reason: string; id: JsonRpcId | null };

/** Deepest nesting accepted in one message (a pinned tool schema is at most 32 deep, plus the envelope). */
export const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** `String.prototype.isWellFormed` (Node 20, ES2024): false when a string holds a lone surrogate. */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Parses one line the way the strictest reading allows, so no lenient peer can read it another
 * way: valid UTF-8, valid JSON, no duplicate object keys (parsers differ on which one wins), no
 * number that overflows to a non-finite value (Python's `json.loads` takes `NaN` and `1e400`),
 * no lone surrogate in any string or key, no `__proto__` key, bounded depth.
 */
export function parseStrict(bytes: Uint8Array): { ok: true; value: unknown; wire: Wire | undefined } | { ok: false; reason: string } {
  const text = decodeLine(bytes);
  return text === undefined ? { ok: false, reason: NOT_UTF8 } : parseText(text);
}

/** Why a line that {@link decodeLine} refused is refused. */
export const NOT_UTF8 = 'the line is not valid UTF-8';

/** A line's text, or undefined when it is not valid UTF-8 (never replaced, so never read two ways). */
export function decodeLine(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** {@link parseStrict} of a line already decoded by {@link decodeLine}. */
export function parseText(text: string): { ok: true; value: unknown; wire: Wire | undefined } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, reason: 'the line is not JSON' };
  }
  // The fatal decoder refused raw surrogates (UTF-8 cannot hold them), so a lone surrogate can only
  // come from a `\u` escape: without one in the text, no string needs the check.
  const scan = { keys: 0, strings: text.includes('\\u'), big: false, zero: false };
  const problem = walk(value, 0, scan);
  if (problem) return { ok: false, reason: problem };
  // JSON.parse keeps the last of duplicate keys silently; the text holds more keys than the value then.
  // The wire scan counts keys as countKeys does, in the same pass that finds the text canonical.
  const wire = wireOf(text);
  if ((wire === undefined ? countKeys(text) : wire.keys) !== scan.keys) return { ok: false, reason: 'an object holds the same key twice' };
  // A literal the parse changed can only have read as a value past the safe integers or as zero,
  // and a canonical text writes zero only as `0`: only such lines have their literals read again.
  if ((scan.big || scan.zero) && wire === undefined) {
    const changed = changedLiteral(text);
    if (changed) return { ok: false, reason: changed };
  }
  return { ok: true, value, wire: wire === undefined ? undefined : { text, idStart: wire.idStart, idEnd: wire.idEnd, members: wire.members } };
}

/**
 * The wire text of a message with its top-level id replaced: the same bytes as `JSON.stringify` of
 * the parsed message after `message.id = id` (the id keeps its place among the keys). Undefined
 * when the message has no string or number id to replace.
 */
export function withId(wire: Wire, id: JsonRpcId): string | undefined {
  if (wire.idEnd < 0) return undefined;
  return wire.text.slice(0, wire.idStart) + JSON.stringify(id) + wire.text.slice(wire.idEnd);
}

/**
 * {@link withId} for a proxy id (`sigil-<hex>-<n>`: letters, digits and dashes, so its JSON text is
 * the id between quotes), without serialising it.
 */
export function withProxyId(wire: Wire, proxyId: string): string | undefined {
  if (wire.idEnd < 0) return undefined;
  return `${wire.text.slice(0, wire.idStart)}"${proxyId}"${wire.text.slice(wire.idEnd)}`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether a JSON text (already parsed, so well formed) is exactly what `JSON.stringify` writes for
 * its value, and if so its key count, top-level key count and the span of its top-level id value.
 * Undefined as soon as anything differs from JSON.stringify's output: whitespace between tokens; an
 * escape other than \" \\ \b \f \n \r \t or a lowercase \u00XX for a control character
 * without a short form (so `\/`, `\u0041`, any escaped surrogate); a number not in its shortest
 * round-trip form (`1.0`, `1e0`, `-0`, digits past double precision); a key starting with a digit
 * (the parse moves integer keys first). One pass: strings are skipped with indexOf, a backslash
 * cursor visits each escape once.
 */
function wireOf(text: string): { keys: number; members: number; idStart: number; idEnd: number } | undefined {
  const n = text.length;
  let i = 0;
  let depth = 0;
  let keys = 0;
  let members = 0;
  let idStart = -1;
  let idEnd = -1;
  // Backslashes occur only inside strings, which are visited in order: one cursor serves them all.
  let backslash = text.indexOf('\\');
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let close = text.indexOf('"', i + 1);
      while (backslash !== -1 && backslash < close) {
        const e = text.charCodeAt(backslash + 1);
        let next = backslash + 2;
        if (e === 0x75) {
          // \u00XX, lowercase hex, for a control character JSON.stringify has no short escape for.
          const hi = text.charCodeAt(backslash + 4);
          const lo = text.charCodeAt(backslash + 5);
          const low = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x57 : -1;
          if (text.charCodeAt(backslash + 2) !== 0x30 || text.charCodeAt(backslash + 3) !== 0x30 || (hi !== 0x30 && hi !== 0x31) || low < 0) return undefined;
          const code = (hi - 0x30) * 16 + low;
          if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return undefined;
          next = backslash + 6;
        } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
          return undefined;
        }
        backslash = text.indexOf('\\', next);
        // The quote found may have been the escaped one.
        if (close < next) close = text.indexOf('"', next);
      }
      if (text.charCodeAt(close + 1) === 0x3a) {
        const first = text.charCodeAt(i + 1);
        if (first >= 0x30 && first <= 0x39) return undefined;
        keys++;
        if (depth === 1) {
          members++;
          if (close - i === 3 && first === 0x69 && text.charCodeAt(i + 2) === 0x64) idStart = close + 2;
        }
        i = close + 2;
        continue;
      }
      if (i === idStart) idEnd = close + 1;
      i = close + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x74 || c === 0x6e) i += 3; // true, null
    else if (c === 0x66) i += 4; // false
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      for (let d = text.charCodeAt(end); (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = text.charCodeAt(++end));
      const token = text.slice(i, end);
      if (String(Number(token)) !== token) return undefined;
      if (i === idStart) idEnd = end;
      i = end;
      continue;
    } else if (c !== 0x2c) return undefined; // whitespace: JSON.stringify writes none
    i++;
  }
  return { keys, members, idStart, idEnd };
}

/** One pass over a parsed value: counts its keys, and finds what the strict reading refuses. */
function walk(value: unknown, depth: number, scan: { keys: number; strings: boolean; big: boolean; zero: boolean }): string | undefined {
  if (typeof value === 'object') {
    if (value === null) return undefined;
    if (depth >= MAX_DEPTH) return `the message is nested deeper than ${MAX_DEPTH}`;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = walk(value[i], depth + 1, scan);
        if (problem) return problem;
      }
      return undefined;
    }
    // for-in sees exactly the own keys of a JSON.parse object (an enumerable key on a polluted
    // prototype would add to the count, and so refuse the line: fail closed, never open).
    for (const key in value) {
      scan.keys++;
      if (scan.strings && !wellFormed(key)) return 'a key holds a lone surrogate';
      // A JavaScript peer that copies the object (Object.assign, a spread into a literal's setter,
      // a merge) would set its prototype from this member, and then read members the proxy never
      // checked (instructions, isError) through it. MCP names no such member.
      if (key === '__proto__') return 'a key is __proto__, which a JavaScript peer may take for the object\'s prototype';
      const problem = walk((value as Obj)[key], depth + 1, scan);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'a number is not finite';
    if (value === 0) scan.zero = true;
    else if (value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER) scan.big = true;
    return undefined;
  }
  if (typeof value === 'string' && scan.strings && !wellFormed(value)) return 'a string holds a lone surrogate';
  return undefined;
}

/**
 * Why a number literal in a JSON text (already parsed) does not read as what it says, or undefined:
 * an integer literal (no fraction, no exponent: every parser that has integers reads it as one, e.g.
 * Python's `json.loads`, Go's int64, a 64-bit row id) that the proxy would forward as another
 * integer, being not written as JSON.stringify writes the double it parses to (9007199254740993
 * would go on as ...992, 2^60 written 1152921504606846976 as 1152921504606847000, 10^21 as `1e+21`,
 * a float; two ids past 2^53 could be one); or a literal with a non-zero digit that underflows to
 * zero (`1e-400`), refused like `1e400`. So an integer goes on exactly as written, or not at all;
 * one written as JSON.stringify writes it (a JavaScript peer's 2^60) is taken. A fraction or an
 * exponent is a float's notation and reads as the nearest double in every parser, as the proxy reads
 * it. Integer literals of at most 15 digits are their own shortest form and skipped unread.
 */
export function changedLiteral(text: string): string | undefined {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: its closing quote is the first one not escaped.
      let end = i + 1;
      for (;;) {
        end = text.indexOf('"', end);
        let backslashes = 0;
        for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
        if (backslashes % 2 === 0) break;
        end++;
      }
      i = end + 1;
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) {
      i++;
      continue;
    }
    let end = i + 1;
    let integer = true;
    let mantissa = c >= 0x31 && c <= 0x39;
    let inMantissa = true;
    for (let d = text.charCodeAt(end); (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = text.charCodeAt(++end)) {
      if (d === 0x2e) integer = false;
      else if (d === 0x65 || d === 0x45) integer = inMantissa = false;
      else if (inMantissa && d >= 0x31 && d <= 0x39) mantissa = true;
    }
    const digits = end - i - (c === 0x2d ? 1 : 0);
    if (integer ? digits > 15 && !shortestInteger(text.slice(i, end)) : mantissa && Number(text.slice(i, end)) === 0) {
      return integer ? 'an integer past 2^53 is not written as the double it reads as (it would go on as another number)' : 'a non-zero number underflows to zero';
    }
    i = end;
  }
  return undefined;
}

/** Whether an integer literal is written as JSON.stringify writes the double it parses to (so it goes on unchanged). */
const shortestInteger = (token: string): boolean => String(Number(token)) === token;

/** Counts the keys written in a JSON text already known to parse: every string followed by `:`. */
function countKeys(text: string): number {
  let count = 0;
  let i = 0;
  for (;;) {
    const start = text.indexOf('"', i);
    if (start === -1) return count;
    let end = start + 1;
    for (;;) {
      end = text.indexOf('"', end);
      let backslashes = 0;
      for (let j = end - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
      if (backslashes % 2 === 0) break;
      end++;
    }
    i = end + 1;
    let c = text.charCodeAt(i);
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(++i);
    if (c === 0x3a) count++;
  }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
// A number id is a safe integer (as the MCP SDKs type it): any other number is not the same id on
// both sides of a parse (1.5 or 2^53 + 1 read two ways).
const isId = (v: unknown): v is JsonRpcId => typeof v === 'string' || Number.isSafeInteger(v);

/** Classifies a parsed message as JSON-RPC 2.0 (MCP uses no batches since 2025-06-18). */
export function classify(value: unknown, wire?: Wire): Classified {
  if (Array.isArray(value)) return { kind: 'batch' };
  if (!isObj(value)) return { kind: 'invalid', reason: 'the message is not a JSON object', id: null };
  const id = isId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', reason: 'the message is not JSON-RPC 2.0', id };
  const variant = variantKeyProblem(value);
  if (variant) return { kind: 'invalid', reason: variant, id };
  // MCP: a request id is a string or a number, never null.
  if ('id' in value && id === null) return { kind: 'invalid', reason: 'the id is neither a string nor a safe integer', id: null };
  if ('method' in value) {
    if (typeof value.method !== 'string') return { kind: 'invalid', reason: 'the method is not a string', id };
    if ('result' in value || 'error' in value) return { kind: 'invalid', reason: 'a request carries a result or an error', id };
    if (value.params !== undefined && !isObj(value.params)) return { kind: 'invalid', reason: 'the params are not an object', id };
    const params = value.params as Obj | undefined;
    if ('id' in value) return { kind: 'request', id: id!, method: value.method, params, message: value, wire };
    return { kind: 'notification', method: value.method, params, message: value, wire };
  }
  if (id === null) return { kind: 'invalid', reason: 'a response without a usable id', id: null };
  const hasResult = 'result' in value;
  const hasError = 'error' in value;
  if (hasResult === hasError) return { kind: 'invalid', reason: 'a response must carry exactly one of result and error', id };
  if (hasResult && !isObj(value.result)) return { kind: 'invalid', reason: 'the result is not an object', id };
  if (hasError && !(isObj(value.error) && typeof value.error.code === 'number' && typeof value.error.message === 'string')) return { kind: 'invalid', reason: 'the error is not a JSON-RPC error object', id };
  return { kind: 'response', id, result: hasResult ? (value.result as Obj) : undefined, error: hasError ? (value.error as Obj) : undefined, message: value, wire };
}
