import { lstatSync, statSync, type Stats } from 'node:fs';
import { ResolveError } from './errors.js';

/** Mode of every directory the store creates (mkdir; the umask can only narrow it). */
export const STORE_DIR_MODE = 0o700;
/** Mode of every file the store writes. */
export const STORE_FILE_MODE = 0o600;

/**
 * Windows: no mode or owner check. Node reports mode bits there from the read-only attribute
 * only, and uid 0 for every file: who may write a file is in its ACL, which Node cannot read.
 */
const CHECKED = process.platform !== 'win32' && typeof process.geteuid === 'function';

/**
 * Why a store path may have been written by someone other than this host, or undefined. The
 * store is trusted to hold only what this host wrote: everything in it is verified again, but a
 * genuinely signed older status swapped in would be accepted offline (a since-revoked version
 * runs, up to `maxStatusAgeSeconds`). So, like OpenSSH's StrictModes, a path writable by its group
 * or by others, or owned by another user, is refused. Owned by root is accepted: root can rewrite
 * any file this host reads (and the process itself), so refusing it removes no writer, and it
 * would break a store root prepared for a service user.
 */
function unsafety(stat: Pick<Stats, 'mode' | 'uid'>, euid: number): string | undefined {
  if (stat.uid !== euid && stat.uid !== 0) return `owned by uid ${stat.uid}, not by this process (uid ${euid}) nor root`;
  if (stat.mode & 0o002) return 'writable by every user';
  if (stat.mode & 0o020) return 'writable by its group';
  return undefined;
}

/** A path as a shell word, for the command the refusal names. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

function refusal(path: string, kind: 'directory' | 'file' | 'symbolic link', stat: Pick<Stats, 'mode' | 'uid'>, reason: string, euid: number, storeDir: string): ResolveError {
  const [p, dir] = [shellWord(path), shellWord(storeDir)];
  const mode = `0${(stat.mode & 0o777).toString(8).padStart(3, '0')}`;
  const fix =
    stat.uid !== euid && stat.uid !== 0
      ? `: if you did not expect this owner, remove the store (\`rm -r ${dir}\`) and resolve once online; otherwise \`chown ${euid} ${p}\``
      : `; fix it with \`chmod ${kind === 'directory' ? 700 : 600} ${p}\` (a whole store made under umask 002 by an older sigil: \`chmod -R go-w ${dir}\`)`;
  return ResolveError.of(
    '',
    'STORE_UNSAFE',
    `the host store ${kind} ${path} is ${reason} (mode ${mode}, owner uid ${stat.uid}): whoever can write there can swap in an older signed status and keep a revoked version running offline, so the store is not read${fix}`,
    { path, mode, uid: stat.uid, euid },
  );
}

/**
 * Checks a file of the store on the descriptor it is read from (the bounded readers' fstat), so
 * what is checked is what is read. Throws `STORE_UNSAFE`.
 */
export function storeFileCheck(storeDir: string): (path: string, stat: Stats) => void {
  return (path, stat) => {
    if (!CHECKED) return;
    const euid = process.geteuid!();
    const reason = unsafety(stat, euid);
    if (reason) throw refusal(path, 'file', stat, reason, euid, storeDir);
  };
}

/**
 * The store's rule for the host's trust files beside it, checked on the descriptor they are read
 * from: the policy (it names the status key and who may sign and approve), the key and root files
 * it names, and the lockfile (what runs). Whoever can rewrite one of them decides what this host
 * trusts, so a file writable by its group or by others, or owned by another user (root aside), is
 * refused with `STORE_UNSAFE`, as a store file is. A checkout made under umask 022 (0644) passes.
 */
export function trustFileCheck(what: string): (path: string, stat: Stats) => void {
  return (path, stat) => {
    if (!CHECKED) return;
    const euid = process.geteuid!();
    const reason = unsafety(stat, euid);
    if (!reason) return;
    const mode = `0${(stat.mode & 0o777).toString(8).padStart(3, '0')}`;
    const fix = stat.uid !== euid && stat.uid !== 0 ? `\`chown ${euid} ${shellWord(path)}\` after checking its content` : `\`chmod go-w ${shellWord(path)}\``;
    throw ResolveError.of(
      '',
      'STORE_UNSAFE',
      `the ${what} ${path} is ${reason} (mode ${mode}, owner uid ${stat.uid}): whoever can write it decides what this host trusts, so it is not read; fix it with ${fix}`,
      { path, mode, uid: stat.uid, euid },
    );
  };
}

/**
 * The directories of one store already found safe (each checked once per store object: once safe,
 * only this user or root can change its mode or its entries).
 */
export class StoreGuard {
  private readonly safe = new Set<string>();
  readonly file: (path: string, stat: Stats) => void;

  constructor(readonly storeDir: string) {
    this.file = storeFileCheck(storeDir);
  }

  /**
   * Checks the store directory, then each of `dirs` (inside it) that the store reads from: absent
   * is fine (nothing to read yet); a symbolic link must be this user's or root's, and what it
   * points to is checked. Throws `STORE_UNSAFE`.
   */
  dirs(...dirs: string[]): void {
    if (!CHECKED) return;
    for (const dir of [this.storeDir, ...dirs]) {
      if (this.safe.has(dir)) continue;
      const euid = process.geteuid!();
      let link: Stats;
      try {
        link = lstatSync(dir);
      } catch (e) {
        if (absent(e)) continue;
        throw unexaminable(dir, e);
      }
      let stat = link;
      if (link.isSymbolicLink()) {
        if (link.uid !== euid && link.uid !== 0) throw refusal(dir, 'symbolic link', link, `owned by uid ${link.uid}, not by this process (uid ${euid}) nor root`, euid, this.storeDir);
        try {
          stat = statSync(dir);
        } catch (e) {
          if (absent(e)) continue;
          throw unexaminable(dir, e);
        }
      }
      const reason = unsafety(stat, euid);
      if (reason) throw refusal(dir, stat.isDirectory() ? 'directory' : 'file', stat, reason, euid, this.storeDir);
      this.safe.add(dir);
    }
  }
}

/** Nothing there (or a file where a directory is expected): the reads that follow say so. */
function absent(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unexaminable(dir: string, e: unknown): ResolveError {
  return ResolveError.of('', 'STORE_INVALID', `cannot examine the host store directory ${dir}: ${(e as Error).message}`, undefined, e);
}
