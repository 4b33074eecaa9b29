import { isVariantKey } from './member-names.js';
import { MAX_DEPTH, type JsonRpcId, type Wire } from './message.js';

/**
 * The two messages an open session is made of, read without `JSON.parse`: a host request, and a
 * server answer that carries a result. Only what the firewall looks at is taken out of the text:
 * the id, the method, and `params.name` when it is a string (the tool a `tools/call` names); for
 * an answer, whether its result is a plain `CallToolResult` (`content` a list of text blocks, each
 * with a string `text`, and a boolean `isError`, both optional, nothing else: what
 * `callResultProblem` passes for a tool without an outputSchema), whether it has a `_meta` (where
 * a modern result names the server), whether it has a `ttlMs` or a `cacheScope` (a modern result a host may keep, whose time and scope the firewall holds to MCP's), whether it has a `resultType` (a modern result that may
 * not be complete) and whether it has `inputRequests` (requests of the server's riding in a result).
 */
export type Hot =
  | { kind: 'request'; id: JsonRpcId; method: string; name: string | undefined; wire: Wire }
  | { kind: 'answer'; id: string; wire: Wire; callResult: boolean; meta: boolean; resultType: boolean; cache: boolean; input: boolean };

// Top-level members the hot shapes are made of; any other member makes the line not hot.
const OTHER = 0;
const JSONRPC = 1;
const ID = 2;
const METHOD = 3;
const PARAMS = 4;
const RESULT = 5;
// Members of the result object, and of a content block, the answer's facts are read from.
const CONTENT = 6;
const IS_ERROR = 7;
const META = 8;
const TYPE = 9;
const TEXT = 10;
const RESULT_TYPE = 11;
const CACHE = 12;
const INPUT_REQUESTS = 13;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Keys in one object the duplicate check compares pairwise; an object with more takes the full path (it has no quadratic worst case). */
const MAX_KEYS = 32;

// The scan's stacks, reused (the scan is synchronous and not reentrant): per open container, its
// kind, where it starts and where its keys start on the key stack; per key of an open object, its
// span in the text (start of the opening quote, end after the closing one).
const isObject = new Uint8Array(MAX_DEPTH + 1);
const starts = new Int32Array(MAX_DEPTH + 1);
const firstKey = new Int32Array(MAX_DEPTH + 1);
const keyStart = new Int32Array(MAX_DEPTH * MAX_KEYS);
const keyEnd = new Int32Array(MAX_DEPTH * MAX_KEYS);

/**
 * Reads a line in the two hot shapes when its text is exactly what `JSON.stringify` writes for the
 * value it holds, checking on the way everything the strict reading (`parseStrict`) refuses; the
 * value is never built. Undefined for any other line, which then takes the full path (parseStrict,
 * classify), so this decides nothing the full path would decide otherwise: it only spares the parse
 * of the lines it fully vouches for.
 *
 * One pass over the text, with a state machine for the JSON grammar (RFC 8259) restricted to
 * JSON.stringify's output: no whitespace; strings with only the escapes JSON.stringify writes (`\"`,
 * `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, lowercase `\u00XX` for the other control characters) and no raw
 * control character, so every string has one spelling and two keys are the same key exactly when
 * their spans are the same text (the duplicate check compares spans); numbers in their shortest
 * round-trip form (so finite, and parsed to what is written); no key starting with a digit (the parse
 * would move integer keys first), no `__proto__` key. No escaped surrogate is taken at all, and `text` comes from the
 * fatal UTF-8 decoder, which refuses raw ones, so no string holds a lone surrogate. Nesting is
 * bounded by {@link MAX_DEPTH} as in parseStrict. Then the shapes (as classify reads them):
 * - request: exactly `jsonrpc` ("2.0"), `id` (a number, or a string without escapes), `method` (a
 *   string without escapes) and optionally `params` (an object), in any order;
 * - answer: exactly `jsonrpc` ("2.0"), `id` (a string without escapes) and `result` (an object).
 *
 * @example
 * readHot('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}');
 * // { kind: 'request', id: 7, method: 'tools/call', name: 'echo', wire: { … } }
 */
export function readHot(text: string): Hot | undefined {
  const n = text.length;
  if (n < 2 || text.charCodeAt(0) !== LBRACE) return undefined;
  let i = 0;
  let depth = 0;
  let keys = 0;
  // The top-level member being read, and the spans of the values of interest (-1: absent).
  let member = OTHER;
  let members = 0;
  let other = false;
  let jsonrpcStart = -1;
  let jsonrpcEnd = -1;
  let idStart = -1;
  let idEnd = -1;
  let methodStart = -1;
  let methodEnd = -1;
  let paramsAt = -1;
  let resultAt = -1;
  // Whether the object open at depth 2 is the top-level `params`, and its `name` value's span.
  let inParams = false;
  let isName = false;
  let nameStart = -1;
  let nameEnd = -1;
  // Whether the object open at depth 2 is the top-level `result`, the array open at depth 3 its
  // `content`, the object open at depth 4 a block of it; the member being read in each; the spans
  // of the block's `type` and the start of its `text`; and the two facts about the result.
  let inResult = false;
  let inContent = false;
  let inBlock = false;
  let resultMember = OTHER;
  let blockMember = OTHER;
  let typeStart = -1;
  let typeEnd = -1;
  let textAt = -1;
  let callResult = true;
  let meta = false;
  let resultType = false;
  let cache = false;
  let input = false;
  let expectKey = false;
  for (;;) {
    let c = text.charCodeAt(i);
    if (expectKey) {
      if (c !== QUOTE) return undefined;
      const start = i;
      const end = stringEnd(text, i);
      if (end < 0 || text.charCodeAt(end) !== COLON) return undefined;
      const first = text.charCodeAt(start + 1);
      if (first >= 0x30 && first <= 0x39) return undefined;
      // `__proto__` (which the strict reading refuses) takes the full path. Spelled with escapes
      // it is not taken here either: only the escapes JSON.stringify writes are, and none is a letter.
      if (first === 0x5f && end - start === 11 && holds(text, start, '"__proto__"')) return undefined;
      const base = firstKey[depth]!;
      if (keys - base >= MAX_KEYS) return undefined;
      for (let k = base; k < keys; k++) if (sameSpan(text, keyStart[k]!, keyEnd[k]!, start, end)) return undefined;
      keyStart[keys] = start;
      keyEnd[keys] = end;
      keys++;
      if (depth === 1) {
        members++;
        member = memberOf(text, start, end);
        if (member === OTHER) other = true;
      } else {
        // Whether the key is one of the members read here, by its exact name.
        let known = false;
        if (depth === 2) {
          if (inParams) known = isName = end - start === 6 && holds(text, start, '"name"');
          else if (inResult) {
            resultMember = resultMemberOf(text, start, end);
            known = resultMember !== OTHER;
            if (resultMember === META) meta = true;
            else if (resultMember === RESULT_TYPE) resultType = true;
            else if (resultMember === CACHE) cache = true;
            else if (resultMember === INPUT_REQUESTS) input = true;
            if (resultMember !== CONTENT && resultMember !== IS_ERROR) callResult = false;
          }
        } else if (depth === 4 && inBlock) {
          blockMember = end - start === 6 ? (holds(text, start, '"type"') ? TYPE : holds(text, start, '"text"') ? TEXT : OTHER) : OTHER;
          known = blockMember !== OTHER;
        }
        // Any other key a case-insensitive reader takes for a member (member-names.ts), anywhere in
        // the params or the result, takes the full path, which refuses it where the firewall reads.
        if (!known && isVariantKey(text.slice(start + 1, end - 1))) return undefined;
      }
      i = end + 1;
      expectKey = false;
      continue;
    }
    // A value starts at i.
    let start = i;
    if (c === LBRACE || c === LBRACKET) {
      if (depth === MAX_DEPTH) return undefined;
      depth++;
      isObject[depth] = c === LBRACE ? 1 : 0;
      starts[depth] = i;
      firstKey[depth] = keys;
      if (depth === 2) {
        inParams = member === PARAMS && c === LBRACE;
        inResult = member === RESULT && c === LBRACE;
      } else if (depth === 3) {
        inContent = inResult && resultMember === CONTENT && c === LBRACKET;
      } else if (depth === 4) {
        inBlock = inContent && c === LBRACE;
        typeStart = -1;
        typeEnd = -1;
        textAt = -1;
      }
      i++;
      if (text.charCodeAt(i) !== (c === LBRACE ? RBRACE : RBRACKET)) {
        expectKey = c === LBRACE;
        continue;
      }
      // An empty container: it ends here, and is the value read. The line's own object empty (`{}`)
      // is no hot shape, and the scan must not go on past it: below depth 1 the stacks hold another
      // line's state, and what followed would be read as if it were the message.
      i++;
      depth--;
      if (depth === 0) return undefined;
    } else if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return undefined;
    } else if (c === 0x74) {
      if (!text.startsWith('true', i)) return undefined;
      i += 4;
    } else if (c === 0x66) {
      if (!text.startsWith('false', i)) return undefined;
      i += 5;
    } else if (c === 0x6e) {
      if (!text.startsWith('null', i)) return undefined;
      i += 4;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      let digits = c === 0x2d ? 0 : 1;
      for (let d = text.charCodeAt(end); (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = text.charCodeAt(++end)) if (d >= 0x30 && d <= 0x39) digits++;
      // An integer of at most 15 digits without a leading zero (not `-0`) is its own shortest form;
      // any other token must read back as itself, which also proves it a finite JSON number (no
      // `1e400`, `-0`, `1.0`, `01`, digits past double precision).
      const first = c === 0x2d ? text.charCodeAt(i + 1) : c;
      if (!(digits === end - i - (c === 0x2d ? 1 : 0) && digits > 0 && digits <= 15 && (first !== 0x30 || (digits === 1 && c !== 0x2d)))) {
        const token = text.slice(i, end);
        // (An integer past 15 digits is taken only so: as JSON.stringify writes it, as parseStrict asks.)
        if (String(Number(token)) !== token) return undefined;
      }
      i = end;
    } else {
      return undefined;
    }
    // A value ended at i (it spans start .. i); after it, a comma or the end of its container, which
    // is then the value that ended, one level up.
    for (;;) {
      if (depth === 1) {
        if (member === JSONRPC) {
          jsonrpcStart = start;
          jsonrpcEnd = i;
        } else if (member === ID) {
          idStart = start;
          idEnd = i;
        } else if (member === METHOD) {
          methodStart = start;
          methodEnd = i;
        } else if (member === PARAMS) paramsAt = start;
        else if (member === RESULT) resultAt = start;
      } else if (depth === 2) {
        if (isName) {
          nameStart = start;
          nameEnd = i;
          isName = false;
        } else if (inResult) {
          const first = text.charCodeAt(start);
          if (resultMember === CONTENT ? first !== LBRACKET : resultMember === IS_ERROR && first !== 0x74 && first !== 0x66) callResult = false;
        }
      } else if (depth === 3 && inContent) {
        // A content block ended: an object whose type is "text" and whose text is a string.
        if (text.charCodeAt(start) !== LBRACE || typeEnd - typeStart !== 6 || !holds(text, typeStart, '"text"') || text.charCodeAt(textAt) !== QUOTE) callResult = false;
      } else if (depth === 4 && inBlock) {
        if (blockMember === TYPE) {
          typeStart = start;
          typeEnd = i;
        } else if (blockMember === TEXT) textAt = start;
      }
      c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        expectKey = isObject[depth] === 1;
        break;
      }
      if (c !== (isObject[depth] === 1 ? RBRACE : RBRACKET)) return undefined;
      // The container open at `depth` ends: its keys leave the stack.
      keys = firstKey[depth]!;
      start = starts[depth]!;
      i++;
      depth--;
      if (depth === 0) break;
    }
    if (depth === 0) break;
  }
  // The whole line is one object, and nothing follows it.
  if (i !== n || other || jsonrpcEnd - jsonrpcStart !== 5 || !holds(text, jsonrpcStart, '"2.0"') || idStart < 0) return undefined;
  const wire: Wire = { text, idStart, idEnd, members };
  const quotedId = text.charCodeAt(idStart) === QUOTE;
  if (quotedId ? escaped(text, idStart, idEnd) : !isNumberStart(text.charCodeAt(idStart))) return undefined;
  if (methodStart >= 0) {
    // A request: no result beside the method, a method string without escapes, params an object if any.
    if (resultAt >= 0 || text.charCodeAt(methodStart) !== QUOTE || escaped(text, methodStart, methodEnd)) return undefined;
    if (paramsAt >= 0 && text.charCodeAt(paramsAt) !== LBRACE) return undefined;
    const id = quotedId ? text.slice(idStart + 1, idEnd - 1) : Number(text.slice(idStart, idEnd));
    // A number id is a safe integer, as classify takes it (1.5 or 1e+21: the full path refuses).
    if (typeof id === 'number' && !Number.isSafeInteger(id)) return undefined;
    const name = nameStart >= 0 && text.charCodeAt(nameStart) === QUOTE && !escaped(text, nameStart, nameEnd) ? text.slice(nameStart + 1, nameEnd - 1) : undefined;
    return { kind: 'request', id, method: text.slice(methodStart + 1, methodEnd - 1), name, wire };
  }
  // An answer: exactly jsonrpc, a string id and a result object.
  if (resultAt < 0 || paramsAt >= 0 || !quotedId || text.charCodeAt(resultAt) !== LBRACE) return undefined;
  return { kind: 'answer', id: text.slice(idStart + 1, idEnd - 1), wire, callResult, meta, resultType, cache, input };
}

/** Whether a string's span holds an escape. */
function escaped(text: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (text.charCodeAt(k) === BACKSLASH) return true;
  return false;
}

/**
 * Where the string whose opening quote is at `at` ends (after its closing quote), or -1 when it is
 * not as JSON.stringify writes strings: an escape it does not write, a raw control character, or
 * no closing quote. A plain loop: the strings of a message are short, and a call per quote or
 * backslash (indexOf) cost more than the characters.
 */
function stringEnd(text: string, at: number): number {
  for (let j = at + 1; ; ) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) {
      j = escapeEnd(text, j);
      if (j < 0) return -1;
    } else if (c >= 0x20) j++;
    else return -1; // a raw control character, or past the end (NaN)
  }
}

const isNumberStart = (c: number): boolean => c === 0x2d || (c >= 0x30 && c <= 0x39);

/** Where an escape at `at` (a backslash) ends, when JSON.stringify writes it so; -1 otherwise. */
function escapeEnd(text: string, at: number): number {
  const e = text.charCodeAt(at + 1);
  if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) return at + 2;
  if (e !== 0x75) return -1;
  // \u00XX, lowercase hex, for a control character JSON.stringify has no short escape for.
  const hi = text.charCodeAt(at + 4);
  const lo = text.charCodeAt(at + 5);
  const low = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x57 : -1;
  if (text.charCodeAt(at + 2) !== 0x30 || text.charCodeAt(at + 3) !== 0x30 || (hi !== 0x30 && hi !== 0x31) || low < 0) return -1;
  const code = (hi - 0x30) * 16 + low;
  return code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? -1 : at + 6;
}

/** Whether two spans of the text hold the same characters. */
function sameSpan(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  const length = aEnd - a;
  if (bEnd - b !== length) return false;
  for (let k = 0; k < length; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** Which top-level member a key span names. */
function memberOf(text: string, start: number, end: number): number {
  switch (end - start) {
    case 4:
      return holds(text, start, '"id"') ? ID : OTHER;
    case 8:
      return holds(text, start, '"params"') ? PARAMS : holds(text, start, '"method"') ? METHOD : holds(text, start, '"result"') ? RESULT : OTHER;
    case 9:
      return holds(text, start, '"jsonrpc"') ? JSONRPC : OTHER;
    default:
      return OTHER;
  }
}

/** Which member of a result object a key span names (of those the answer's facts are read from). */
function resultMemberOf(text: string, start: number, end: number): number {
  switch (end - start) {
    case 7:
      return holds(text, start, '"_meta"') ? META : holds(text, start, '"ttlMs"') ? CACHE : OTHER;
    case 9:
      return holds(text, start, '"content"') ? CONTENT : holds(text, start, '"isError"') ? IS_ERROR : OTHER;
    case 12:
      return holds(text, start, '"resultType"') ? RESULT_TYPE : holds(text, start, '"cacheScope"') ? CACHE : OTHER;
    case 15:
      return holds(text, start, '"inputRequests"') ? INPUT_REQUESTS : OTHER;
    default:
      return OTHER;
  }
}

/** `text.startsWith(word, at)` for the short words above, without the builtin's call (this runs for every top-level key). */
function holds(text: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(at + k) !== word.charCodeAt(k)) return false;
  return true;
}
