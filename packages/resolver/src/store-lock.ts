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
 * across a clock change, is stale after that long too, instead of never).
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
    if (stale && (await held()) === holder) await fsp.unlink(path).catch(() => undefined);
    else await new Promise((resolve) => setTimeout(resolve, wait));
  }
  try {
    return await section();
  } finally {
    if ((await held()) === token) await fsp.unlink(path).catch(() => undefined);
  }
}
