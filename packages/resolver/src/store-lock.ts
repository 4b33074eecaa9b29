import { randomBytes } from 'node:crypto';
// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { constants as fsConstants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ResolveError } from './errors.js';
import { STORE_DIR_MODE, STORE_FILE_MODE } from './store-safety.js';

/** Age past which a lock file was left by a process that died holding it. */
const STALE_LOCK_MS = 30_000;

/**
 * Runs `section` holding `<dir>/<name>`, a lock file between the processes of one host (the
 * floors' compare-then-write: the log checkpoint, the stored status). Created exclusively,
 * holding a random token. One left by a process that died holding it is removed, only if it
 * still holds the token read when it was judged stale; a holder removes only its own. A section
 * only reads, verifies and renames local files, so a lock is stale when its modification time is
 * more than {@link STALE_LOCK_MS} (`staleMs`) in the past, or when this process has seen the same
 * holder's token for that long by its own monotonic clock (so a file dated ahead, planted or left
 * across a clock change, is stale after that long too, instead of never). Waiters that find the
 * same stale lock together remove it one at a time ({@link removeStale}), so none removes the
 * lock another has just taken.
 * @throws ResolveError `STORE_INVALID` when the lock cannot be created, or its path (or that of
 *   `<name>.break`) holds something other than a regular file
 */
export async function withStoreLock<T>(dir: string, name: string, section: () => Promise<T>, staleMs = STALE_LOCK_MS): Promise<T> {
  await fsp.mkdir(dir, { recursive: true, mode: STORE_DIR_MODE });
  const path = join(dir, name);
  const token = randomBytes(16).toString('hex');
  const lock = new LockWatch(path, staleMs);
  const breaker = new LockWatch(`${path}.break`, staleMs);
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    if (await createExclusive(path, token)) break;
    const judged = await lock.look();
    if (!judged.stale || !(await removeStale(path, judged, token, breaker))) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  try {
    return await section();
  } finally {
    await removeOwn(path, token);
  }
}

/** True when `path` was created holding `token`; false when something is there already. */
async function createExclusive(path: string, token: string): Promise<boolean> {
  try {
    await fsp.writeFile(path, token, { flag: 'wx', mode: STORE_FILE_MODE });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ResolveError.of('', 'STORE_INVALID', `cannot lock ${path}: ${(e as Error).message}`, undefined, e);
    return false;
  }
}

/** Removes `path` only while it still holds `token` (this process's own lock). */
async function removeOwn(path: string, token: string): Promise<void> {
  if ((await fsp.readFile(path, 'utf8').catch(() => undefined)) === token) await fsp.unlink(path).catch(() => undefined);
}

/** Opening a lock file never follows a symbolic link there, nor waits on a FIFO (where the platform has the flags). */
const OPEN_LOCK = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/**
 * What the lock file at `path` holds and when it was last modified, read through one open
 * descriptor, so both are of the same file: a path read twice (its date, then its token) may
 * name two files in between, a dead holder's hour-old lock then a live holder's new one, and the
 * live lock would be judged stale by the dead one's date (two waiters in the section at once,
 * seen once in 3,000 races on a loaded machine). Undefined when there is none (or it cannot be
 * read: its path's date alone). Something other than a regular file there (a directory, a symbolic link, a FIFO) is no
 * lock any process of ours made, and could never be taken: `STORE_INVALID`, with its path,
 * rather than a wait that never ends.
 */
async function readLock(path: string): Promise<{ holder: string | undefined; mtimeMs: number; file: string } | undefined> {
  const st = await fsp.lstat(path).catch(() => undefined);
  if (st === undefined) return undefined;
  if (!st.isFile()) throw notAFile(path);
  let handle: FileHandle;
  try {
    handle = await fsp.open(path, OPEN_LOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Gone meanwhile: no lock (its date was the removed file's).
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notAFile(path);
    // Not readable by this user (nor, on some systems, a symbolic link put there meanwhile): judged
    // by the date and identity its path had, and this process's clock.
    return { holder: undefined, mtimeMs: st.mtimeMs, file: `${st.dev}:${st.ino}:${st.mtimeMs}` };
  }
  try {
    const held = await handle.stat();
    if (!held.isFile()) throw notAFile(path);
    const holder = await handle.readFile('utf8').catch(() => undefined);
    return { holder, mtimeMs: held.mtimeMs, file: `${held.dev}:${held.ino}:${held.mtimeMs}` };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const notAFile = (path: string): ResolveError => ResolveError.of('', 'STORE_INVALID', `${path} is not a regular file: remove it (a lock file of sigil is one)`);

/** A lock file as one waiting process sees it: who holds it (its token, and which file), and whether it is stale (see {@link withStoreLock}). */
class LockWatch {
  private seen: { holder: string | undefined; since: number } | undefined;

  constructor(
    readonly path: string,
    private readonly staleMs: number,
  ) {}

  async look(): Promise<{ holder: string | undefined; file: string | undefined; stale: boolean }> {
    const lock = await readLock(this.path);
    const holder = lock?.holder;
    const now = performance.now();
    if (this.seen === undefined || this.seen.holder !== holder) this.seen = { holder, since: now };
    // Not by a date in the future: a file system whose clock runs ahead of this one (a network
    // share, a virtual machine's mount) would make every live lock look stale at once.
    const age = lock === undefined ? 0 : Date.now() - lock.mtimeMs;
    return { holder, file: lock?.file, stale: age > this.staleMs || now - this.seen.since > this.staleMs };
  }
}

/**
 * Removes the stale lock at `path` if it still holds `holder`'s token, holding `<path>.break`
 * (`breaker`) while it reads and removes: two waiters that judged the same dead holder stale would
 * otherwise both read its token, and the slower one would remove the lock the faster one had just
 * taken (both then ran the section at once). Only one waiter at a time reads then removes, so one
 * that reads after a new lock was taken reads the new holder's token and leaves it. True when the
 * lock was removed, false to wait and try again.
 *
 * A `.break` left by a process that died in these few steps is stale by the same rule as a lock
 * (its date, or this process's own clock), and is taken out of the way by renaming it to a name of
 * this waiter's own: a rename moves exactly one file, so of two waiters that judged the same one
 * stale, one moves it and the other finds nothing to move. The waiter then reads what it moved;
 * should it be a live `.break` made meanwhile, it is linked back (unless yet another replaced it:
 * that needs a process to die inside these steps and three waiters at once).
 */
async function removeStale(path: string, judged: { holder: string | undefined; file: string | undefined }, token: string, breaker: LockWatch): Promise<boolean> {
  if (!(await createExclusive(breaker.path, token))) {
    const { holder: breaking, stale } = await breaker.look();
    if (stale) {
      const moved = `${breaker.path}.${token}`;
      if (await fsp.rename(breaker.path, moved).then(
        () => true,
        () => false,
      )) {
        if ((await fsp.readFile(moved, 'utf8').catch(() => undefined)) !== breaking) await fsp.link(moved, breaker.path).catch(() => undefined);
        await fsp.unlink(moved).catch(() => undefined);
      }
    }
    return false;
  }
  try {
    // Still the file judged stale, holding the same token (one that cannot be read is judged by
    // its date and this process's clock alike): removed; gone meanwhile: nothing to remove, try
    // again at once. The same token in another file is a holder that died before writing its
    // token (an empty file) and another that has just created its own.
    const now = await readLock(path);
    if (now === undefined) return true;
    if (now.holder !== judged.holder || now.file !== judged.file) return false;
    await fsp.unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw ResolveError.of('', 'STORE_INVALID', `cannot remove the stale lock ${path}: ${e.message}`, undefined, e);
    });
    return true;
  } finally {
    await removeOwn(breaker.path, token);
  }
}
