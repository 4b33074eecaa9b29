import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { jsonTextProblem, Lockfile as LockfileSchema, plainLockfile, readsOneWay, readBoundedText, readBoundedTextSync, readLockfile, writeLockfile, type Lockfile } from './lockfile.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const d = (c: string) => `sha256:${c.repeat(64)}`;

const lock: Lockfile = {
  lockfileVersion: 1,
  servers: {
    'io.github.zeta/b': { version: '1.0.0', digest: d('b'), toolsDigest: d('c'), signer: 'SHA256:abc', approvals: [d('d')] },
    'io.github.acme/a': { version: '2.1.0', digest: d('e'), toolsDigest: d('f'), signer: 'mailto:release@acme.example', approvals: [] },
  },
};

describe('the lockfile', () => {
  it('round-trips, with keys in a stable order and no temporary files left', async () => {
    const path = join(dir, 'sigil.lock.json');
    await writeLockfile(path, lock);
    expect(await readLockfile(path)).toEqual(lock);
    const text = readFileSync(path, 'utf8');
    expect(text.indexOf('io.github.acme/a')).toBeLessThan(text.indexOf('io.github.zeta/b'));
    expect(text.indexOf('"approvals"')).toBeLessThan(text.indexOf('"version"'));
    await writeLockfile(path, { ...lock, servers: Object.fromEntries(Object.entries(lock.servers).reverse()) });
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(readdirSync(dir)).toEqual(['sigil.lock.json']);
  });

  it('is never written as it would be refused: one server under two spellings is LOCKFILE_INVALID, the file as it was', async () => {
    const path = join(dir, 'spellings.lock.json');
    await writeLockfile(path, lock);
    const before = readFileSync(path, 'utf8');
    const twice = { ...lock, servers: { ...lock.servers, 'io.github.ACME/a': { ...lock.servers['io.github.acme/a']!, version: '1.0.0' } } };
    await expect(writeLockfile(path, twice)).rejects.toMatchObject({ code: 'LOCKFILE_INVALID' });
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('is empty when missing and allowed, refused otherwise', async () => {
    expect((await readLockfile(join(dir, 'none.json'), { allowMissing: true })).servers).toEqual({});
    await expect(readLockfile(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'LOCKFILE_INVALID' });
  });

  it.each([
    ['not JSON', '{"lockfileVersion":1,'],
    ['an unknown key', JSON.stringify({ ...lock, extra: 1 })],
    ['a range for a version', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': { ...lock.servers['io.github.acme/a'], version: '^2.1.0' } } })],
    ['a bad digest', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': { ...lock.servers['io.github.acme/a'], digest: 'sha256:xyz' } } })],
    ['an invalid name', JSON.stringify({ lockfileVersion: 1, servers: { 'Acme/a': lock.servers['io.github.acme/a'] } })],
    // A reviewer reading the file sees the first pin; JSON.parse keeps the last (an older version, say).
    ['one server pinned twice', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': lock.servers['io.github.acme/a'], SECOND: { ...lock.servers['io.github.acme/a'], version: '1.0.0' } } }).replace('"SECOND"', '"io.github.acme/a"')],
    // Case does not distinguish names: a second spelling would escape the rollback rule of the first.
    ['one server under two spellings', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': lock.servers['io.github.acme/a'], 'io.github.ACME/a': { ...lock.servers['io.github.acme/a'], version: '1.0.0' } } })],
    ['a key twice in one entry', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': { FIRST: '1.0.0', ...lock.servers['io.github.acme/a'] } } }).replace('"FIRST"', '"version"')],
    // JSON.parse keeps "__proto__" as a key of its own, which a record schema silently drops: a
    // reader of the file sees a pin the host never reads. Refused like "constructor".
    ['a __proto__ key under servers', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': lock.servers['io.github.acme/a'], PROTO: lock.servers['io.github.zeta/b'] } }).replace('"PROTO"', '"__proto__"')],
    ['a __proto__ key under servers, escaped', JSON.stringify({ lockfileVersion: 1, servers: { PROTO: lock.servers['io.github.zeta/b'] } }).replace('"PROTO"', '"\\u005f_proto__"')],
    // Each is the digest of one counted approval, held to those counted at every start.
    ['one approval listed two times', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.zeta/b': { ...lock.servers['io.github.zeta/b'], approvals: [d('d'), d('e'), d('d')] } } })],
    ['a constructor key under servers', JSON.stringify({ lockfileVersion: 1, servers: { 'io.github.acme/a': lock.servers['io.github.acme/a'], PROTO: lock.servers['io.github.zeta/b'] } }).replace('"PROTO"', '"constructor"')],
  ])('refuses %s with LOCKFILE_INVALID', async (label, text) => {
    const path = join(dir, `${label.replaceAll(' ', '-')}.json`);
    writeFileSync(path, text);
    const error = await readLockfile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolveError);
    expect((error as ResolveError).code).toBe('LOCKFILE_INVALID');
    if (label.includes('twice')) expect((error as Error).message).toMatch(/"(io\.github\.acme\/a|version)" appears twice/);
    if (label.includes('spellings')) expect((error as Error).message).toContain('case does not distinguish server names');
    if (label.includes('__proto__')) expect((error as Error).message).toContain('/servers/__proto__');
  });
});

describe('when a lockfile pins more servers than one signed status covers (256)', () => {
  // The limit held online only (the status asked for covers the whole lock): `resolve --offline`
  // and `run --offline` went on with a lock no online start would take. It is the lockfile's rule,
  // so whoever reads or writes one applies it.
  const many = (count: number): Lockfile => ({
    lockfileVersion: 1,
    servers: Object.fromEntries(Array.from({ length: count }, (_, i) => [`io.github.acme/s${i}`, lock.servers['io.github.acme/a']!])),
  });
  it('reads 256, and refuses 257 when read (LOCKFILE_INVALID) and when written (the file as it was)', async () => {
    const path = join(dir, 'many.lock.json');
    await writeLockfile(path, many(256));
    expect(Object.keys((await readLockfile(path)).servers)).toHaveLength(256);
    await expect(writeLockfile(path, many(257))).rejects.toMatchObject({ code: 'LOCKFILE_INVALID' });
    expect(Object.keys((await readLockfile(path)).servers)).toHaveLength(256);
    writeFileSync(path, JSON.stringify(many(257)));
    await expect(readLockfile(path)).rejects.toMatchObject({ code: 'LOCKFILE_INVALID' });
  });
});

describe('when another local user can write the lockfile (the store\'s rule, StrictModes)', () => {
  it('refuses it (STORE_UNSAFE) writable by its group or every user, and reads it at 0644', async () => {
    const sub = mkdtempSync(join(dir, 'modes-'));
    const path = join(sub, 'sigil.lock.json');
    await writeLockfile(path, lock);
    for (const mode of [0o666, 0o620]) {
      chmodSync(path, mode);
      await expect(readLockfile(path)).rejects.toMatchObject({ code: 'STORE_UNSAFE' });
      await expect(readLockfile(path, { allowMissing: true })).rejects.toMatchObject({ code: 'STORE_UNSAFE' });
    }
    chmodSync(path, 0o644);
    expect(await readLockfile(path)).toEqual(lock);
  });
});

describe('bounded reads, asynchronous and synchronous alike', () => {
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('return the exact text of a file within the limit, the limit included', async () => {
    const path = file('exact.txt', 'é'.repeat(10)); // 20 bytes
    expect(readBoundedTextSync(path, 20)).toBe('é'.repeat(10));
    expect(await readBoundedText(path, 20)).toBe('é'.repeat(10));
    const empty = file('empty.txt', '');
    expect(readBoundedTextSync(empty, 20)).toBe('');
  });

  it('read on past the size fstat gave when the file holds more, within the limit (a /proc file claims 0 bytes)', async () => {
    // Linux: /proc/self/status is a regular file whose fstat size is 0 and whose text is not.
    const status = readFileSync('/proc/self/status', 'utf8');
    expect(status.length).toBeGreaterThan(100);
    expect(readBoundedTextSync('/proc/self/status', 64 * 1024)).toMatch(/^Name:[^]*\nVmPeak:/);
    expect(await readBoundedText('/proc/self/status', 64 * 1024)).toMatch(/^Name:[^]*\nVmPeak:/);
    expect(() => readBoundedTextSync('/proc/self/status', 10)).toThrow(expect.objectContaining({ code: 'EFBIG' }));
  });

  it('refuse a file larger than the limit (EFBIG) and bytes that are not UTF-8', async () => {
    const big = file('big.txt', 'x'.repeat(21));
    expect(() => readBoundedTextSync(big, 20)).toThrow(expect.objectContaining({ code: 'EFBIG' }));
    await expect(readBoundedText(big, 20)).rejects.toMatchObject({ code: 'EFBIG' });
    const bad = file('bad.txt', Buffer.from([0x7b, 0xff, 0x7d]));
    expect(() => readBoundedTextSync(bad, 20)).toThrow(TypeError);
    await expect(readBoundedText(bad, 20)).rejects.toThrow(TypeError);
  });

  it('pass on a missing file as ENOENT', async () => {
    expect(() => readBoundedTextSync(join(dir, 'absent.txt'), 20)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    await expect(readBoundedText(join(dir, 'absent.txt'), 20)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the lockfile test that spares zod (plainLockfile)', () => {
  // Whenever the test takes a lock, zod must accept it and give back the same value; every
  // mutation below is either taken (then that holds) or left to zod.
  const entry = (l: Record<string, unknown>) => (l.servers as Record<string, Record<string, unknown>>)['io.github.acme/a']!;
  const asProperty = (value: unknown) => ({ value, enumerable: true, writable: true, configurable: true });
  const mutations: Array<[string, boolean, (l: Record<string, unknown>) => void]> = [
    ['none', true, () => {}],
    ['no servers', true, (l) => (l.servers = {})],
    ['64 approvals', true, (l) => (entry(l).approvals = Array.from({ length: 64 }, () => d('a')))],
    ['a signer of 512', true, (l) => (entry(l).signer = 's'.repeat(512))],
    ['a prerelease version', true, (l) => (entry(l).version = '1.0.0-rc.1')],
    ['65 approvals', false, (l) => (entry(l).approvals = Array.from({ length: 65 }, () => d('a')))],
    ['an approval in upper case', false, (l) => (entry(l).approvals = [d('A')])],
    // eslint-disable-next-line no-sparse-arrays -- a hole, which every() would skip
    ['approvals with a hole', false, (l) => (entry(l).approvals = [, d('a')])],
    ['a signer of 513', false, (l) => (entry(l).signer = 's'.repeat(513))],
    ['an empty signer', false, (l) => (entry(l).signer = '')],
    ['a version with build metadata', false, (l) => (entry(l).version = '1.0.0+x')],
    ['a short digest', false, (l) => (entry(l).digest = 'sha256:ab')],
    ['a numeric tools digest', false, (l) => (entry(l).toolsDigest = 1)],
    ['an entry with an extra key', false, (l) => (entry(l).extra = 1)],
    ['an entry without approvals', false, (l) => delete entry(l).approvals],
    ['an entry that is an array', false, (l) => ((l.servers as Record<string, unknown>)['io.github.acme/a'] = [])],
    ['a bad server name', false, (l) => ((l.servers as Record<string, unknown>)['Bad Name'] = entry(l))],
    ['a name without namespace', false, (l) => ((l.servers as Record<string, unknown>)['weather'] = entry(l))],
    ['another lockfile version', false, (l) => (l.lockfileVersion = 2)],
    ['no lockfile version', false, (l) => delete l.lockfileVersion],
    ['an extra top-level key', false, (l) => (l.extra = 1)],
    ['servers that are an array', false, (l) => (l.servers = [])],
    ['a constructor key in servers', false, (l) => Object.defineProperty(l.servers, 'constructor', asProperty(entry(l)))],
    ['a __proto__ key in an entry', false, (l) => Object.defineProperty(entry(l), '__proto__', asProperty({}))],
  ];
  it.each(mutations)('agrees with zod: %s', (_label, taken, mutate) => {
    const l = JSON.parse(JSON.stringify(lock)) as Record<string, unknown>;
    mutate(l);
    const parsed = LockfileSchema.safeParse(l);
    expect(plainLockfile(l)).toBe(taken);
    if (taken) {
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(l);
    }
  });
});

describe('jsonTextProblem with the parsed value (the fast exact test), against the character scan alone', () => {
  // Texts JSON.parse accepts, each judged both ways: with the parsed value (strings counted) and
  // without it (scanJson alone). Every duplicate below hides under a string with escapes, a
  // __proto__ key, an array, or a nesting level, where a counting shortcut could go wrong.
  const deep = (levels: number, inner: string): string => '['.repeat(levels) + inner + ']'.repeat(levels);
  const cases: Array<[string, string, boolean]> = [
    ['flat', '{"a":1,"b":"x"}', false],
    ['a key twice', '{"a":1,"a":2}', true],
    ['a key twice, the first holding strings', '{"a":["x","y"],"a":"z"}', true],
    ['a key twice under an array', '[{"k":"v"},{"k":"v","k":"w"}]', true],
    ['a key twice deep inside', '{"s":{"t":{"u":{"v":1,"v":1}}}}', true],
    ['escaped quotes and backslashes in keys and values', '{"a\\"":"b\\\\","\\\\":"\\"","c":"\\u0022"}', false],
    ['the same key written once plainly and once escaped', '{"a":1,"\\u0061":2}', true],
    ['a key that is an escaped quote, twice', '{"\\"":1,"\\"":2}', true],
    ['a string ending in an escaped backslash', '{"a":"x\\\\","b":"y"}', false],
    // Refused even once: JSON.parse keeps it as a key, an object built from the value drops it.
    ['__proto__ once', '{"__proto__":{"x":1},"y":2}', true],
    ['__proto__ once, deep inside an array', '[{"a":{"__proto__":1}}]', true],
    ['__proto__ twice', '{"__proto__":1,"__proto__":2}', true],
    ['integer-like keys', '{"1":1,"01":2,"1.0":3}', false],
    ['integer-like key twice', '{"1":1,"2":2,"1":3}', true],
    ['strings only in arrays', '["a","b",["c",{"d":"e"}]]', false],
    ['whitespace between tokens', ' { "a" : [ "b" , "c" ] ,\n "d" : { } } ', false],
    ['nesting at the bound', deep(64, '1'), false],
    ['nesting past the bound', deep(65, '1'), true],
    ['a duplicate beside nesting past the bound', `{"a":${deep(70, '"x"')},"a":1}`, true],
    ['no strings', '[1,2,{},[],true,null]', false],
    ['a lone string', '"x"', false],
  ];
  it.each(cases)('%s', (_label, text, refused) => {
    const parsed: unknown = JSON.parse(text);
    const scanned = jsonTextProblem(text);
    expect(scanned !== undefined).toBe(refused);
    // With the value: the very same answer (the scan words every refusal), and the scan is left
    // out exactly for the texts it would pass.
    expect(jsonTextProblem(text, parsed)).toBe(scanned);
    expect(readsOneWay(text, parsed)).toBe(!refused);
  });
});

