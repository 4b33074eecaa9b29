/**
 * JSON-RPC classification for the firewall: one strict parse of the bytes received, then one
 * verdict on the shape. The firewall forwards `JSON.stringify` of what this returns, never the
 * raw line, so the peer on the other side parses exactly what was checked.
 */

export type JsonRpcId = string | number;
type Obj = Record<string, unknown>;

export type Classified =
  | { kind: 'request'; id: JsonRpcId; method: string; params: Obj | undefined; message: Obj }
  | { kind: 'notification'; method: string; params: Obj | undefined; message: Obj }
  | { kind: 'response'; id: JsonRpcId; result: Obj | undefined; error: Obj | undefined; message: Obj }
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
 * no lone surrogate in any string or key, bounded depth.
 */
export function parseStrict(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'the line is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return { ok: false, reason: 'the line is not JSON' };
  }
  // The fatal decoder refused raw surrogates (UTF-8 cannot hold them), so a lone surrogate can only
  // come from a `\u` escape: without one in the text, no string needs the check.
  const scan = { keys: 0, strings: text.includes('\\u') };
  const problem = walk(value, 0, scan);
  if (problem) return { ok: false, reason: problem };
  // JSON.parse keeps the last of duplicate keys silently; the text holds more keys than the value then.
  if (countKeys(text) !== scan.keys) return { ok: false, reason: 'an object holds the same key twice' };
  return { ok: true, value };
}

/** One pass over a parsed value: counts its keys, and finds what the strict reading refuses. */
function walk(value: unknown, depth: number, scan: { keys: number; strings: boolean }): string | undefined {
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
      const problem = walk((value as Obj)[key], depth + 1, scan);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'a number is not finite';
  if (typeof value === 'string' && scan.strings && !wellFormed(value)) return 'a string holds a lone surrogate';
  return undefined;
}

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
const isId = (v: unknown): v is JsonRpcId => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** Classifies a parsed message as JSON-RPC 2.0 (MCP uses no batches since 2025-06-18). */
export function classify(value: unknown): Classified {
  if (Array.isArray(value)) return { kind: 'batch' };
  if (!isObj(value)) return { kind: 'invalid', reason: 'the message is not a JSON object', id: null };
  const id = isId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', reason: 'the message is not JSON-RPC 2.0', id };
  // MCP: a request id is a string or a number, never null.
  if ('id' in value && id === null) return { kind: 'invalid', reason: 'the id is neither a string nor a number', id: null };
  if ('method' in value) {
    if (typeof value.method !== 'string') return { kind: 'invalid', reason: 'the method is not a string', id };
    if ('result' in value || 'error' in value) return { kind: 'invalid', reason: 'a request carries a result or an error', id };
    if (value.params !== undefined && !isObj(value.params)) return { kind: 'invalid', reason: 'the params are not an object', id };
    const params = value.params as Obj | undefined;
    if ('id' in value) return { kind: 'request', id: id!, method: value.method, params, message: value };
    return { kind: 'notification', method: value.method, params, message: value };
  }
  if (id === null) return { kind: 'invalid', reason: 'a response without a usable id', id: null };
  const hasResult = 'result' in value;
  const hasError = 'error' in value;
  if (hasResult === hasError) return { kind: 'invalid', reason: 'a response must carry exactly one of result and error', id };
  if (hasResult && !isObj(value.result)) return { kind: 'invalid', reason: 'the result is not an object', id };
  if (hasError && !(isObj(value.error) && typeof value.error.code === 'number' && typeof value.error.message === 'string')) return { kind: 'invalid', reason: 'the error is not a JSON-RPC error object', id };
  return { kind: 'response', id, result: hasResult ? (value.result as Obj) : undefined, error: hasError ? (value.error as Obj) : undefined, message: value };
}
