import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CANCELLED, IdMap, MAX_CANCELLED, type Outstanding } from './ids.js';

const hostEntry = (hostId: string | number, method = 'tools/call'): Outstanding => ({ origin: 'host', hostId, method, cancelled: false });

describe('IdMap', () => {
  it('matches an answer only by the exact proxy id it issued', () => {
    const ids = new IdMap();
    const id = ids.issue(hostEntry(1));
    const seq = id.slice(id.lastIndexOf('-') + 1);
    for (const other of [Number(seq), `${id} `, id.toUpperCase(), id.replace(/-(\d+)$/, '-0$1'), `${id.slice(0, -seq.length)}${seq}.0`, null, undefined]) {
      expect(ids.peek(other)).toBeUndefined();
      expect(ids.take(other)).toBeUndefined();
    }
    expect(ids.take(id)).toMatchObject({ hostId: 1 });
    expect(ids.take(id)).toBeUndefined(); // an id answered once is no longer outstanding
  });

  it('issues ids whose JSON text is the id between quotes (withProxyId writes them so)', () => {
    const ids = new IdMap();
    for (let i = 0; i < 20; i++) {
      const id = ids.issue(hostEntry(i));
      expect(JSON.stringify(id)).toBe(`"${id}"`);
    }
  });

  it('matches exactly the ids it issued and nothing else, whatever the text', () => {
    const ids = new IdMap();
    const issued = Array.from({ length: 12 }, (_, i) => ids.issue(hostEntry(i)));
    ids.take(issued[3]); // answered: no longer outstanding
    const outstanding = new Set(issued.filter((_, i) => i !== 3));
    const prefix = issued[0]!.slice(0, issued[0]!.lastIndexOf('-') + 1);
    const tail = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('0', '00', '01', '1.0', '1e0', '+1', '-1', ' 1', '1 ', '4', '12', '13', '0x1', '9007199254740993', 'Infinity', 'NaN'));
    const candidate = fc.oneof(fc.constantFrom(...issued), tail.map((t) => prefix + t), fc.string(), fc.constantFrom(prefix, prefix.toUpperCase(), `${issued[1]}\n`));
    fc.assert(
      fc.property(candidate, (id) => {
        expect(ids.peek(id) !== undefined).toBe(outstanding.has(id));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives each run its own ids', () => {
    expect(new IdMap().issue(hostEntry(1))).not.toBe(new IdMap().issue(hostEntry(1)));
  });

  it('finds the outstanding request behind a host id by type and value, the latest first', () => {
    const ids = new IdMap();
    const first = ids.issue(hostEntry(7));
    const text = ids.issue(hostEntry('7'));
    expect(ids.proxyIdOf(7)).toBe(first);
    expect(ids.proxyIdOf('7')).toBe(text);
    const again = ids.issue(hostEntry(7));
    expect(ids.proxyIdOf(7)).toBe(again);
    ids.take(again);
    expect(ids.proxyIdOf(7)).toBe(first);
    ids.take(first);
    expect(ids.proxyIdOf(7)).toBeUndefined();
    expect(ids.proxyIdOf(null)).toBeUndefined();
  });

  it('forgets a cancelled host request but still knows its late answer, once, as one to drop', () => {
    const ids = new IdMap();
    const id = ids.issue(hostEntry('a'));
    expect(ids.cancel('a')).toBe(id);
    expect(ids.peek(id)).toBe(CANCELLED);
    expect(ids.proxyIdOf('a')).toBeUndefined();
    expect(ids.cancel('a')).toBeUndefined();
    expect(ids.cancel('b')).toBeUndefined();
    expect(ids.take(id)).toBe(CANCELLED);
    expect(ids.take(id)).toBeUndefined(); // answered once: a second answer is drift
    expect(ids.drain()).toEqual([]);
  });

  it('remembers a bounded number of cancelled requests (MAX_CANCELLED by default): an answer to an older one is then drift', () => {
    expect(MAX_CANCELLED).toBe(16_384);
    const ids = new IdMap(8);
    const proxyIds = Array.from({ length: 9 }, (_, i) => ids.issue(hostEntry(i)));
    for (let i = 0; i < 9; i++) ids.cancel(i);
    expect(ids.peek(proxyIds[0])).toBeUndefined();
    expect(ids.peek(proxyIds[1])).toBe(CANCELLED);
    expect(ids.take(proxyIds[8])).toBe(CANCELLED);
  });

  it('never lets a host cancel the proxy’s own requests', () => {
    const ids = new IdMap();
    const own = ids.issue({ origin: 'proxy', method: 'tools/list', settle: () => undefined });
    expect(ids.cancel(own)).toBeUndefined();
    expect(ids.peek(own)).toMatchObject({ origin: 'proxy' });
  });

  it('drains every outstanding request, the host ones and its own', () => {
    const ids = new IdMap();
    const host = ids.issue(hostEntry('sub', 'subscriptions/listen'));
    ids.issue({ origin: 'proxy', method: 'tools/list', settle: () => undefined });
    expect(ids.drain()).toHaveLength(2);
    expect(ids.peek(host)).toBeUndefined();
  });
});
