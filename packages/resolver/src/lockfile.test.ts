import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolveError } from './errors.js';
import { readBoundedText, readBoundedTextSync, readLockfile, writeLockfile, type Lockfile } from './lockfile.js';

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
  ])('refuses %s with LOCKFILE_INVALID', async (label, text) => {
    const path = join(dir, `${label.replaceAll(' ', '-')}.json`);
    writeFileSync(path, text);
    const error = await readLockfile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolveError);
    expect((error as ResolveError).code).toBe('LOCKFILE_INVALID');
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
