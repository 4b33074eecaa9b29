import { randomBytes } from 'node:crypto';
// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { promises as fsp } from 'node:fs';
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
 * @throws ResolveError `STORE_INVALID` when the lock cannot be created
 */
export async function withStoreLock<T>(dir: string, name: string, section: () => Promise<T>, staleMs = STALE_LOCK_MS): Promise<T> {
  await fsp.mkdir(dir, { recursive: true, mode: STORE_DIR_MODE });
  const path = join(dir, name);
  const token = randomBytes(16).toString('hex');
  const held = (): Promise<string | undefined> => fsp.readFile(path, 'utf8').catch(() => undefined);
  let seen: { holder: string | undefined; since: number } | undefined;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      await fsp.writeFile(path, token, { flag: 'wx', mode: STORE_FILE_MODE });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ResolveError.of('', 'STORE_INVALID', `cannot lock ${path}: ${(e as Error).message}`, undefined, e);
    }
    const holder = await held();
    const age = await fsp.stat(path).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    const now = performance.now();
    if (seen === undefined || seen.holder !== holder) seen = { holder, since: now };
    // Not by a date in the future: a file system whose clock runs ahead of this one (a network
    // share, a virtual machine's mount) would make every live lock look stale at once.
    const stale = age > staleMs || now - seen.since > staleMs;
    if (!stale || !(await removeStale(path, holder, token, staleMs))) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  try {
    return await section();
  } finally {
    if ((await held()) === token) await fsp.unlink(path).catch(() => undefined);
  }
}

/**
 * Removes the stale lock at `path` if it still holds `holder`'s token, holding `<path>.break`
 * while it reads and removes: two waiters that judged the same dead holder stale would otherwise
 * both read its token, and the slower one would remove the lock the faster one had just taken
 * (both then ran the section at once). Only one waiter at a time reads then removes, so one that
 * reads after a new lock was taken reads the new holder's token and leaves it. A `.break` file
 * left by a process that died in these few steps is removed once older than `staleMs` by its
 * date. True when the lock was removed (or already gone), false to wait and try again.
 */
async function removeStale(path: string, holder: string | undefined, token: string, staleMs: number): Promise<boolean> {
  const breaker = `${path}.break`;
  try {
    await fsp.writeFile(breaker, token, { flag: 'wx', mode: STORE_FILE_MODE });
  } catch {
    const age = await fsp.stat(breaker).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    if (age > staleMs) await fsp.unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    const now = await fsp.readFile(path, 'utf8').catch(() => undefined);
    if (now !== holder) return now === undefined;
    await fsp.unlink(path).catch(() => undefined);
    return true;
  } finally {
    await fsp.unlink(breaker).catch(() => undefined);
  }
}
