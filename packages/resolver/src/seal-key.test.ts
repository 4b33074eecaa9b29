import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { userSealKey, userSealKeyPath } from './seal-key.js';

// The seal key decides which kept signature results a host believes without checking them again:
// only a private file of this user's is ever read as its secret.
const posix = process.platform !== 'win32';
const scratch = () => mkdtempSync(join(tmpdir(), 'sigil-seal-'));
/** A folder made private, holding `seal.key` with these bytes. */
function secretFile(bytes: Buffer, mode = 0o600): string {
  const dir = join(scratch(), 'sigil');
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'seal.key'), bytes, { mode });
  return join(dir, 'seal.key');
}
const derived = (secret: Buffer, scope: string) => createHmac('sha256', secret).update(`sigil.seal-key.v1\n${scope}`).digest();

describe('userSealKey', () => {
  it('lives in $XDG_STATE_HOME/sigil, else ~/.local/state/sigil (a relative XDG_STATE_HOME is ignored)', () => {
    expect(userSealKeyPath({ XDG_STATE_HOME: '/x/state' })).toBe(join('/x/state', 'sigil', 'seal.key'));
    expect(userSealKeyPath({})).toMatch(/[/\\]\.local[/\\]state[/\\]sigil[/\\]seal\.key$/);
    expect(userSealKeyPath({ XDG_STATE_HOME: 'state' })).toBe(userSealKeyPath({}));
  });

  it('is made on first use (32 random bytes, a private file in a private folder), and the same secret is read back', () => {
    const env = { XDG_STATE_HOME: join(scratch(), 'state') };
    const key = userSealKey({ env, scope: 'build 1' });
    expect(key).toBeInstanceOf(Buffer);
    expect(key!.length).toBe(32);
    const path = userSealKeyPath(env);
    const secret = readFileSync(path);
    expect(secret.length).toBe(32);
    // The key is derived from the secret and the build: never the secret itself.
    expect(key).toEqual(derived(secret, 'build 1'));
    if (posix) {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(env.XDG_STATE_HOME, 'sigil')).mode & 0o777).toBe(0o700);
    }
    expect(userSealKey({ env, scope: 'build 1' })).toEqual(key);
    // No temporary file left beside it.
    expect(readdirSync(join(env.XDG_STATE_HOME, 'sigil'))).toEqual(['seal.key']);
    // Another build of the host gets another key from the same secret; another user's folder another secret.
    expect(userSealKey({ env, scope: 'build 2' })).toEqual(derived(secret, 'build 2'));
    expect(userSealKey({ env, scope: 'build 2' })!.equals(key!)).toBe(false);
    expect(userSealKey({ env: { XDG_STATE_HOME: join(scratch(), 'state') }, scope: 'build 1' })!.equals(key!)).toBe(false);
  });

  it('is read from a private file of exactly 32 bytes', () => {
    const path = secretFile(Buffer.alloc(32, 5));
    expect(userSealKey({ path, scope: 's' })).toEqual(derived(Buffer.alloc(32, 5), 's'));
  });

  it('is refused, never replaced, when the file is not exactly 32 bytes', () => {
    for (const size of [0, 31, 33]) {
      const path = secretFile(Buffer.alloc(size, 1));
      expect(userSealKey({ path, scope: 's' })).toBeUndefined();
      expect(readFileSync(path).length).toBe(size);
    }
  });

  it.runIf(posix)('is refused when its group or others may read or write the file', () => {
    for (const mode of [0o640, 0o604, 0o620, 0o602, 0o644]) {
      const path = secretFile(Buffer.alloc(32, 5));
      chmodSync(path, mode);
      expect(userSealKey({ path, scope: 's' })).toBeUndefined();
    }
  });

  it.runIf(posix)('is refused when its group or others may write its folder', () => {
    for (const mode of [0o770, 0o707, 0o775]) {
      const path = secretFile(Buffer.alloc(32, 5));
      chmodSync(join(path, '..'), mode);
      expect(userSealKey({ path, scope: 's' })).toBeUndefined();
    }
  });

  it.runIf(posix)('is refused through a symbolic link, or with a second hard link', () => {
    const path = secretFile(Buffer.alloc(32, 5));
    const dir = join(path, '..');
    symlinkSync(path, join(dir, 'linked.key'));
    expect(userSealKey({ path: join(dir, 'linked.key'), scope: 's' })).toBeUndefined();
    linkSync(path, join(dir, 'other.key'));
    expect(userSealKey({ path, scope: 's' })).toBeUndefined();
  });

  it('is refused when it is not a regular file', () => {
    const dir = join(scratch(), 'sigil');
    mkdirSync(join(dir, 'seal.key'), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    expect(userSealKey({ path: join(dir, 'seal.key'), scope: 's' })).toBeUndefined();
  });

  it.runIf(posix)('a FIFO in its place is refused at once, not a start that hangs', () => {
    const dir = join(scratch(), 'sigil');
    mkdirSync(dir, { mode: 0o700 });
    execFileSync('mkfifo', ['-m', '600', join(dir, 'seal.key')]);
    expect(userSealKey({ path: join(dir, 'seal.key'), scope: 's' })).toBeUndefined();
  });

  it('is undefined when it cannot be made (its folder would be under a file)', () => {
    const file = join(scratch(), 'not-a-folder');
    writeFileSync(file, 'x');
    expect(userSealKey({ path: join(file, 'sigil', 'seal.key'), scope: 's' })).toBeUndefined();
  });
});
