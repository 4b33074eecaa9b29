import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { MIN_SEAL_KEY_BYTES } from '@sigil/signing/verify';

/**
 * This user's seal key for one build of a host: the secret with which a host's verification
 * cache seals the signature results it writes into the store (`.sigil-cache/verified.json`), so
 * that a later start uses a result sealed under it as this host's own answer instead of checking
 * the signature again (see `VerificationCache`). The store beside a lockfile may be written by
 * others (a shared checkout, a restored CI cache): what they write there is never sealed under
 * this key, so it is only a miss.
 *
 * The key returned is derived (HMAC-SHA256) from a 32-byte secret kept in the user's state folder,
 * `$XDG_STATE_HOME/sigil/seal.key`, else `~/.local/state/sigil/seal.key` (a relative
 * `XDG_STATE_HOME` is ignored, as the XDG specification says), and from `scope`: name the build
 * of the host there, with the versions of the `@sigil/*` libraries it ships (the CLI gives
 * `sigil@<version>`), so a new build, whose checks may have changed, never believes what an older
 * one sealed.
 *
 * The secret is read only when its folder is this user's (or root's) and writable by no one
 * else, and it is a regular file of exactly 32 bytes with one link, opened without following a
 * symbolic link and without blocking, owned by this user and neither readable nor writable by
 * anyone else (mode 0600 or narrower; on Windows, where Node sees neither owner nor ACL, a user's
 * profile folder is private). Missing, it is made (32 random bytes, mode 0600, synced, in a folder
 * made 0700), published with `link(2)` so that two starts at once agree on one. Any problem gives
 * `undefined`: the host then re-checks every kept result, which costs time only.
 * @example
 * const store = new HostTrustStore({ policy, lockfile: 'sigil.lock.json', sealKey: userSealKey({ scope: 'my-host 1.4.2 (@sigil/resolver 0.1.0)' }) });
 */
export function userSealKey(options: { scope: string; path?: string; env?: NodeJS.ProcessEnv }): Buffer | undefined {
  const path = options.path ?? userSealKeyPath(options.env);
  let secret = readSecret(path);
  if (secret === 'missing') {
    makeSecret(path);
    secret = readSecret(path);
  }
  if (secret === undefined || secret === 'missing') return undefined;
  return createHmac('sha256', secret).update(`sigil.seal-key.v1\n${options.scope}`).digest();
}

/** Where {@link userSealKey} keeps the secret. */
export function userSealKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME;
  return join(state && isAbsolute(state) ? state : join(homedir(), '.local', 'state'), 'sigil', 'seal.key');
}

const POSIX = process.platform !== 'win32' && typeof process.geteuid === 'function';

/** A new secret at `path`, unless one is there already (then that one stands). Errors leave nothing behind. */
function makeSecret(path: string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(MIN_SEAL_KEY_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // Fails with EEXIST when another start published its secret first: that one is read.
    linkSync(temporary, path);
    syncFolder(dirname(path));
  } catch {
    // No secret: the caller re-checks kept results.
  } finally {
    rmSync(temporary, { force: true });
  }
}

function syncFolder(folder: string): void {
  if (!POSIX) return;
  try {
    const fd = openSync(folder, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Durability only.
  }
}

/** The secret at `path` under the rules above, `'missing'` when there is no such file, or undefined. */
function readSecret(path: string): Buffer | 'missing' | undefined {
  if (POSIX) {
    try {
      const folder = statSync(dirname(path));
      if (!folder.isDirectory() || (folder.uid !== process.geteuid!() && folder.uid !== 0) || (folder.mode & 0o022) !== 0) return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : undefined;
    }
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (POSIX ? constants.O_NOFOLLOW | constants.O_NONBLOCK : 0));
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size !== MIN_SEAL_KEY_BYTES) return undefined;
    if (POSIX && (stat.uid !== process.geteuid!() || (stat.mode & 0o077) !== 0 || stat.nlink !== 1)) return undefined;
    const secret = Buffer.alloc(MIN_SEAL_KEY_BYTES);
    return readSync(fd, secret, 0, secret.length, 0) === secret.length ? secret : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
