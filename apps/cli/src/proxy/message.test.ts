import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, MAX_DEPTH, parseStrict } from './message.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('parseStrict', () => {
  it('accepts any JSON value JSON.stringify writes, and gives back the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const text = JSON.stringify(value);
        const parsed = parseStrict(bytes(text));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(JSON.stringify(parsed.value)).toBe(text);
      }),
    );
  });

  it('refuses any object holding the same key twice, wherever it is', () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.nat(3), (key, a, b, depth) => {
        let text = `{${JSON.stringify(key)}:${JSON.stringify(a)},${JSON.stringify(key)}:${JSON.stringify(b)}}`;
        for (let i = 0; i < depth; i++) text = `{"k${i}":[${text}]}`;
        expect(parseStrict(bytes(text))).toMatchObject({ ok: false });
      }),
    );
  });

  it('keeps keys that only look alike apart (escaped forms of the same key are the same key)', () => {
    expect(parseStrict(bytes('{"a":1,"A":2}'))).toMatchObject({ ok: true });
    expect(parseStrict(bytes('{"a":1,"\\u0061":2}'))).toMatchObject({ ok: false });
    expect(parseStrict(bytes('{"a\\"":1,"b":"x\\\\","c":{"d":"\\\\\\""}}'))).toMatchObject({ ok: true });
  });

  it.each([
    ['NaN', '{"id":NaN}'],
    ['Infinity by overflow', '{"id":1e400}'],
    ['negative overflow', '[-1e999]'],
    ['a lone high surrogate', '"\\ud800"'],
    ['a lone low surrogate in a key', '{"\\udc00":1}'],
    ['invalid UTF-8', Buffer.from([0x22, 0xc3, 0x28, 0x22])],
    ['a trailing comma', '{"a":1,}'],
    ['two values', '{} {}'],
  ])('refuses %s', (_label, input) => {
    expect(parseStrict(typeof input === 'string' ? bytes(input) : input)).toMatchObject({ ok: false });
  });

  it('accepts a surrogate pair and refuses nesting deeper than the limit', () => {
    expect(parseStrict(bytes('"\\ud83d\\ude00"'))).toMatchObject({ ok: true });
    expect(parseStrict(bytes(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`))).toMatchObject({ ok: true });
    expect(parseStrict(bytes(`${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`))).toMatchObject({ ok: false });
  });
});

describe('classify', () => {
  it.each([
    [{ jsonrpc: '2.0', id: 1, method: 'ping' }, 'request'],
    [{ jsonrpc: '2.0', method: 'notifications/initialized' }, 'notification'],
    [{ jsonrpc: '2.0', id: 'a', result: {} }, 'response'],
    [{ jsonrpc: '2.0', id: 'a', error: { code: 1, message: 'x' } }, 'response'],
    [[{ jsonrpc: '2.0', id: 1, method: 'ping' }], 'batch'],
    [{ id: 1, method: 'ping' }, 'invalid'],
    [{ jsonrpc: '2.0', id: null, method: 'ping' }, 'invalid'],
    [{ jsonrpc: '2.0', id: true, method: 'ping' }, 'invalid'],
    [{ jsonrpc: '2.0', id: 1, method: 'ping', result: {} }, 'invalid'],
    [{ jsonrpc: '2.0', id: 1, method: 'ping', params: [] }, 'invalid'],
    [{ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }, 'invalid'],
    [{ jsonrpc: '2.0', id: 1, result: [] }, 'invalid'],
    [{ jsonrpc: '2.0', id: 1, error: { message: 'no code' } }, 'invalid'],
    [{ jsonrpc: '2.0', result: {} }, 'invalid'],
  ])('classifies %j as %s', (message, kind) => {
    expect(classify(message).kind).toBe(kind);
  });
});
