import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readHot, type Hot } from './hot-path.js';
import { classify, MAX_DEPTH, parseStrict, withId } from './message.js';
import { callResultProblem } from './result-check.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
/** The text as the firewall would hold it: the fatal decoder's reading of the bytes (never a raw lone surrogate). */
const decoded = (text: string): string => new TextDecoder('utf-8', { fatal: true }).decode(bytes(text));

/**
 * The differential check: whatever readHot takes, the full path (parseStrict, then classify) takes
 * too, with the same reading, and the line's own text is exactly JSON.stringify of what it parsed
 * to, so forwarding the text forwards what was checked. Returns what readHot gave.
 */
function agrees(text: string): Hot | undefined {
  const hot = readHot(text);
  if (!hot) return undefined;
  const parsed = parseStrict(bytes(text));
  expect(parsed.ok).toBe(true);
  if (!parsed.ok) return hot;
  expect(JSON.stringify(parsed.value)).toBe(text);
  const m = classify(parsed.value, parsed.wire);
  const value = parsed.value as Record<string, unknown>;
  const keys = Object.keys(value);
  expect(hot.wire.members).toBe(keys.length);
  expect(hot.wire.text).toBe(text);
  if (hot.kind === 'request') {
    expect(m.kind).toBe('request');
    if (m.kind !== 'request') return hot;
    expect(Object.is(m.id, hot.id)).toBe(true);
    expect(m.method).toBe(hot.method);
    const name = m.params?.name;
    if (hot.name !== undefined) expect(name).toBe(hot.name);
    // A name the hot path could not read leaves a tools/call to the full path (allows() refuses undefined).
    else if (typeof name === 'string') expect(text.slice(text.indexOf('"params"'))).toContain('\\');
    expect(keys.every((k) => ['jsonrpc', 'id', 'method', 'params'].includes(k))).toBe(true);
  } else {
    expect(m.kind).toBe('response');
    if (m.kind !== 'response') return hot;
    expect(m.id).toBe(hot.id);
    expect(m.error).toBeUndefined();
    expect(m.result).toBeDefined();
    expect(keys.sort()).toEqual(['id', 'jsonrpc', 'result']);
    const result = m.result!;
    expect(hot.meta).toBe(result._meta !== undefined);
    expect(hot.resultType).toBe(result.resultType !== undefined);
    expect(hot.cache).toBe(result.ttlMs !== undefined || result.cacheScope !== undefined);
    expect(hot.input).toBe(result.inputRequests !== undefined);
    // A result the hot path calls a plain CallToolResult passes the check for a tool without an outputSchema.
    if (hot.callResult) {
      expect(callResultProblem(result, false)).toBeUndefined();
      expect(Object.keys(result).every((k) => k === 'content' || k === 'isError')).toBe(true);
    }
  }
  // The id is replaced where JSON.stringify would write it after an in-place replacement.
  for (const id of ['sigil-0-1', 7, -2.5e-8, 'a"b']) {
    const copy = { ...value, id };
    expect(withId(hot.wire, id)).toBe(JSON.stringify(copy));
  }
  return hot;
}

const safe = fc.string({ unit: fc.constantFrom('a', 'b', '/', 'é', '😀', ' ', '-', ':', '{', '}', '[', ',', '1') as fc.Arbitrary<string>, maxLength: 8 });
const tricky = fc.string({ unit: fc.constantFrom('a', '"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', '\u2028', 'é', '\ud800', '\udc00', '\ud83d\ude00', 'u', ':', '{', ' ') as fc.Arbitrary<string>, maxLength: 6 });
const key = fc.oneof(tricky, fc.constantFrom('id', 'name', 'jsonrpc', 'method', 'params', 'result', 'error', '1', '__proto__'));
const values = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double(), fc.integer(), tricky, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
})).value;
/** Content blocks: text blocks, near misses (other types, a text that is not a string, extra members) and noise. */
const blocks = fc.oneof(
  fc.record({ type: fc.constantFrom('text', 'text', 'image', 'resource_link', 'txt'), text: fc.oneof(safe, tricky, fc.integer(), fc.constant(null)), annotations: values }, { requiredKeys: [] }),
  values,
);
const ids = fc.oneof(safe, tricky, fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.constant({}));
/** JSON-RPC shaped messages: the hot shapes, near misses and noise, members in any order. */
const messages = fc
  .record(
    {
      jsonrpc: fc.constantFrom('2.0', '2.0', '1.0', 2),
      id: ids,
      method: fc.oneof(fc.constantFrom('tools/call', 'ping', 'initialize'), tricky),
      params: fc.oneof(fc.record({ name: fc.oneof(safe, tricky, fc.integer()), arguments: values }, { requiredKeys: [] }), values),
      result: fc.oneof(fc.record({ content: fc.oneof(fc.array(blocks, { maxLength: 3 }), values), isError: fc.oneof(fc.boolean(), values), _meta: values, structuredContent: values, resultType: fc.constantFrom('complete', 'input_required'), inputRequests: values }, { requiredKeys: [] }), values),
      error: values,
      extra: values,
    },
    { requiredKeys: [] },
  )
  .chain((m) => fc.shuffledSubarray(Object.entries(m), { minLength: Object.keys(m).length }).map((entries) => Object.fromEntries(entries)));

/** Ways a peer may write a message other than JSON.stringify's (each must leave the line to the full path or be read the same). */
const forms: Record<string, (text: string) => string> = {
  plain: (t) => t,
  spaced: (t) => JSON.stringify(JSON.parse(t), null, 1),
  escaped: (t) => t.replace(/"(?:[^"\\]|\\.)*"/, (s) => `"${[...(JSON.parse(s) as string)].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`),
  duplicate: (t) => t.replace(/\{("(?:[^"\\]|\\.)*"):/, '{$1:0,$1:'),
  duplicateLast: (t) => t.replace(/,("(?:[^"\\]|\\.)*"):([^,]*)\}$/, ',$1:$2,$1:$2}'),
  number: (t) => t.replace(/(\d)([,}\]])/, '$1.0$2'),
  trailing: (t) => `${t} `,
  truncated: (t) => t.slice(0, -1),
};

describe('readHot agrees with the full path (parseStrict, classify)', () => {
  it('on JSON-RPC shaped messages, as JSON.stringify writes them and as other peers might', () => {
    fc.assert(
      fc.property(messages, fc.constantFrom(...Object.keys(forms)), (message, form) => {
        const text = decoded(forms[form]!(JSON.stringify(message)));
        agrees(text);
      }),
      { numRuns: 3000 },
    );
  }, 60_000);

  it('on tool results of every shape: plain CallToolResults, near misses and noise', () => {
    const textBlock = fc.record({ type: fc.constant('text'), text: safe });
    const result = fc.record(
      {
        content: fc.oneof(fc.array(fc.oneof(textBlock, textBlock, blocks), { maxLength: 3 }), values),
        isError: fc.oneof(fc.boolean(), fc.boolean(), values),
        _meta: values,
        structuredContent: values,
        resultType: fc.oneof(fc.constantFrom('complete', 'input_required'), values),
        ttlMs: fc.oneof(fc.nat(), values),
        cacheScope: fc.oneof(fc.constantFrom('public', 'private'), values),
        inputRequests: values,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(result, safe, fc.constantFrom('plain', 'first', 'last'), (r, id, order) => {
        const message = order === 'first' ? { result: r, jsonrpc: '2.0', id } : order === 'last' ? { jsonrpc: '2.0', id, result: r } : { jsonrpc: '2.0', result: r, id };
        agrees(decoded(JSON.stringify(message)));
      }),
      { numRuns: 3000 },
    );
  }, 60_000);

  it('takes every canonical request and result answer with plain ids, methods and names', () => {
    fc.assert(
      // A number id is a safe integer (classify refuses any other number; `ids` below tries them).
      fc.property(fc.oneof(safe, fc.integer(), fc.maxSafeInteger()), safe, safe, values, fc.boolean(), fc.array(tricky, { maxLength: 3 }), fc.option(fc.boolean()), (id, method, name, args, request, texts, isError) => {
        const content = texts.map((text) => ({ type: 'text', text }));
        const message = request ? { jsonrpc: '2.0', id, method, params: { name, arguments: args } } : { result: isError === null ? { content } : { content, isError }, jsonrpc: '2.0', id: String(id) };
        const text = JSON.stringify(message);
        const parsed = parseStrict(bytes(text));
        // A lone surrogate, an escape for a control character or a key starting with a digit (one the
        // parse may move first) leaves the line to the full path.
        if (!parsed.ok || text.includes('\\u') || /[{,]"\d/.test(text)) return;
        const hot = agrees(text);
        expect(hot?.kind).toBe(request ? 'request' : 'answer');
        if (hot?.kind === 'request') expect(hot.name).toBe(name);
        if (hot?.kind === 'answer') expect(hot).toMatchObject({ callResult: true, meta: false, resultType: false, cache: false, input: false });
      }),
      { numRuns: 2000 },
    );
  }, 60_000);

  it('on arbitrary texts over a JSON-RPC alphabet', () => {
    const token = fc.constantFrom('{', '}', '[', ']', ',', ':', '"jsonrpc"', '"2.0"', '"id"', '"method"', '"params"', '"result"', '"name"', '"content"', '"isError"', '"_meta"', '"type"', '"text"', '"x"', '"t"', '1', '-1', '1e400', '-0', '1.0', '1e+21', '1E+21', 'true', 'nul', 'null', 'false', ' ', '"\\u0061"', '"\\ud800"', '"\\n"', '"\\u001f"', '"\\u001F"', '"\\u000a"', '"\\u0008"', '"\\/"', '"a\\"b"', '"\\\\"', '"\u0001"', '"\\');
    const line = fc.array(token, { maxLength: 24 }).map((t) => t.join(''));
    // Most token soups are not JSON; these start as a hot line and then go astray.
    const hotStart = fc.tuple(fc.constantFrom('{"jsonrpc":"2.0","id":"t","result":{', '{"jsonrpc":"2.0","id":1,"method":"x","params":{"name":', '{"id":"t","jsonrpc":"2.0","result":', '{"jsonrpc":"2.0","id":"t","result":{"content":[{"type":"text","text":', '{"jsonrpc":"2.0","id":"t","result":{"content":[{'), fc.array(token, { maxLength: 12 })).map(([start, t]) => start + t.join(''));
    fc.assert(
      fc.property(fc.oneof(line, hotStart), (text) => {
        agrees(text);
      }),
      { numRuns: 10_000 },
    );
  }, 60_000);

  it('on single-character edits of hot lines', () => {
    const lines = ['{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":{"message":"a\\"b\\\\c\\u0001","n":[1.5,-2,true,false,null,{}]}}}', '{"result":{"content":[{"type":"text","text":"called echo with {\\"message\\":\\"x\\"}"}],"isError":false},"jsonrpc":"2.0","id":"sigil-ab-1"}'];
    const char = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '1', '-', '.', 'e', 'E', '+', 'u', 'n', 't', 'a', '\u0000', '\u001f', '\ud800');
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), char, (line, at, edit, c) => {
        expect(readHot(line)).toBeDefined();
        const k = at % (line.length + 1);
        const text = edit === 'insert' ? line.slice(0, k) + c + line.slice(k) : edit === 'delete' ? line.slice(0, k) + line.slice(k + 1) : line.slice(0, k) + c + line.slice(k + 1);
        if ((text as unknown as { isWellFormed(): boolean }).isWellFormed()) agrees(text);
      }),
      { numRuns: 10_000 },
    );
  }, 60_000);

  it('on every insertion and replacement of structural fragments, at every place of hot lines', () => {
    // Exhaustive, not sampled: the fragments that make a line two values, or end one early.
    const lines = ['{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"echo","arguments":{"message":"a\\"b","n":[1.5,{}]}}}', '{"jsonrpc":"2.0","id":"sigil-ab-1","result":{"content":[{"type":"text","text":"ok"}],"isError":false}}'];
    const fragments = ['{}],[', '{}},[', '{}]],[[', '[]],[', '{},', '],[', '},{', '{}', '[]', ',"a":1', '"name":"rm",', '\\u006d', '1e400', '-0', '}', ']'];
    let taken = 0;
    for (const line of lines) {
      for (let k = 0; k <= line.length; k++) {
        for (const f of fragments) {
          for (const text of [line.slice(0, k) + f + line.slice(k), line.slice(0, k) + f + line.slice(k + 1)]) {
            // Whatever an earlier line left in the scan's stacks.
            readHot('{}},[');
            if (agrees(text)) taken++;
          }
        }
      }
    }
    // Some edits keep a hot line hot (a member added inside the arguments, say): the check ran on them.
    expect(taken).toBeGreaterThan(100);
  });

  it.each([
    ['a duplicate top-level key', '{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping"}'],
    ['a duplicate key deep in the params', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1,"b":{"c":1,"c":2}}}}'],
    ['a duplicate name', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"rm"}}'],
    ['an escaped lone surrogate', '{"jsonrpc":"2.0","id":"a","result":{"t":"\\ud800"}}'],
    ['a number that overflows', '{"jsonrpc":"2.0","id":"a","result":{"t":1e400}}'],
    ['a non-finite literal', '{"jsonrpc":"2.0","id":"a","result":{"t":NaN}}'],
    ['a raw control character in a string', '{"jsonrpc":"2.0","id":"a","result":{"t":"a\u0001"}}'],
    ['whitespace', '{"jsonrpc":"2.0", "id":"a","result":{}}'],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'],
    ['an escaped method name', '{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"name":"echo"}}'],
    ['an id written 1.0', '{"jsonrpc":"2.0","id":1.0,"method":"ping"}'],
    ['an id written -0', '{"jsonrpc":"2.0","id":-0,"method":"ping"}'],
    ['an id written 01', '{"jsonrpc":"2.0","id":01,"method":"ping"}'],
    ['an id past double precision (16 digits)', '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}'],
    ['a number past double precision (17 digits)', '{"jsonrpc":"2.0","id":"a","result":{"n":12345678901234567}}'],
    ['a null id', '{"jsonrpc":"2.0","id":null,"method":"ping"}'],
    ['a numeric answer id', '{"jsonrpc":"2.0","id":1,"result":{}}'],
    ['an answer with an error', '{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"x"}}'],
    ['an answer with another member', '{"jsonrpc":"2.0","id":"a","result":{},"x":1}'],
    ['a request with a result', '{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}'],
    ['params that are not an object', '{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}'],
    ['a notification', '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}'],
    ['another JSON-RPC version', '{"jsonrpc":"2.00","id":"a","result":{}}'],
    ['text after the object', '{"jsonrpc":"2.0","id":"a","result":{}}{}'],
    ['an unterminated string', '{"jsonrpc":"2.0","id":"a","result":{"t":"abc}}'],
    ['a key the parse would move first', '{"jsonrpc":"2.0","id":"a","result":{"b":1,"1":2}}'],
    ['a params key a Go server reads as name', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Name":"rm"}}'],
    ['a params key folding to name (long s, Kelvin sign)', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},"Kind":1,"nAmE":"rm"}}'],
    ['a result key a Go client reads as isError', '{"jsonrpc":"2.0","id":"a","result":{"content":[],"iserror":true}}'],
    ['a content block key a Go client reads as text', '{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text","text":"a","Text":"b"}]}}'],
    ['a key a Go client reads as uri, deep in a content block', '{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"resource","resource":{"uri":"a","URI":"file:///b"}}]}}'],
    ['a key a Go client reads as taskId, in a task', '{"jsonrpc":"2.0","id":"a","result":{"task":{"taskId":"a","taskid":"b"}}}'],
  ])('leaves %s to the full path', (_label, text) => {
    expect(readHot(text)).toBeUndefined();
  });

  it('bounds nesting as parseStrict does, and leaves an object with many keys to the full path', () => {
    const nested = (depth: number): string => `{"jsonrpc":"2.0","id":"a","result":${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}}`;
    // The line's own object is one level; the result and what it holds the rest.
    expect(agrees(nested(MAX_DEPTH - 1))).toBeDefined();
    expect(readHot(nested(MAX_DEPTH))).toBeUndefined();
    expect(parseStrict(bytes(nested(MAX_DEPTH)))).toMatchObject({ ok: false });
    const wide = JSON.stringify({ jsonrpc: '2.0', id: 'a', result: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) });
    expect(readHot(wide)).toBeUndefined();
    expect(parseStrict(bytes(wide))).toMatchObject({ ok: true });
  });
});

describe('readHot: a line whose own object is empty ends there', () => {
  // Found by a differential fuzz against the full path (about 20 million lines): after an empty
  // top-level `{}` the scan went on below depth 1, took the next object it met for the message and
  // forwarded the whole line, which is not JSON at all, as checked. Each line is refused by the full
  // path, and must be by readHot whatever an earlier line left in the scan's stacks.
  const request = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}';
  const answer = '{"jsonrpc":"2.0","id":"sigil-ab-1","result":{"content":[{"type":"text","text":"ok"}]}}';
  const before = [(): void => undefined, (): void => void readHot('{}},['), (): void => void readHot('{}],{')];
  it.each([
    `{}],[${request}`,
    `{}],[${answer}`,
    `{}},[${request}`,
    `{}}],[[${request}`,
    `{}]]]],"x",1,[[[[${answer}`,
    // Duplicate keys went unseen below depth 1 (the key count was lost).
    '{}]],[[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm","name":"echo","arguments":{"message":"hi"}}}',
    // Nor was the nesting bound kept there.
    `{}${']'.repeat(70)},${'['.repeat(70)}${']'.repeat(70)},${'['.repeat(70)}${request}`,
  ])('%s', (line) => {
    expect(parseStrict(bytes(line)).ok).toBe(false);
    for (const earlier of before) {
      earlier();
      expect(readHot(line)).toBeUndefined();
    }
  });
  it('takes no empty object, which is JSON but no message', () => expect(readHot('{}')).toBeUndefined());
});
