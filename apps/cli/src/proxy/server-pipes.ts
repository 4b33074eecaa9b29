import { execFile } from 'node:child_process';
import { closeSync, constants, existsSync, fstatSync, openSync, rmSync, type Stats } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Longest the FIFOs may take to make (a slow `mkfifo`, a hung temporary folder); past it the server gets Node's socket pairs, as without FIFOs. */
const DEADLINE_MS = 2000;
/** Where `mkfifo` is looked for: by absolute path, never through the inherited PATH (a relative entry would run one from the working folder). */
const MKFIFO = ['/usr/bin/mkfifo', '/bin/mkfifo'];
/** Every end is opened non-blocking (no open can wait for a peer) and never through a symbolic link. */
const OPEN_FLAGS = constants.O_NONBLOCK | (constants.O_NOFOLLOW ?? 0);

/**
 * The server's stdin and stdout as two FIFOs (pipe(7)): the ends the proxy keeps (non-blocking)
 * and the ends the server is given (blocking, as a shell pipeline gives them).
 */
export interface ServerPipes {
  /** The server's stdin and stdout: spawn's stdio 0 and 1, closed here once it has them ({@link ServerPipes.release}). */
  readonly childIn: number;
  readonly childOut: number;
  /** The proxy's ends: written to, and read from. */
  readonly toServer: number;
  readonly fromServer: number;
  /** Closes the server's ends in this process (after spawn, which gave the child its own copies). */
  release(): void;
  /** Closes every end still open here (when the pipes are not used after all). */
  close(): void;
}

/**
 * Makes the server's stdio out of FIFOs rather than the AF_UNIX socket pairs Node's spawn creates
 * for `stdio: 'pipe'`. Per message the kernel does less for a pipe than for a stream socket (no
 * socket buffer allocated and freed per write), and a server writes one message per write: a relay
 * over FIFOs took 15 to 20 % more tools/call round trips per second through it than one over socket
 * pairs, in the same run (docs/resolver.md, the firewall's throughput). Node opens no anonymous
 * pipe, so two named ones are made with `mkfifo` in a fresh private folder (mkdtemp: mode 0700),
 * opened, checked (FIFOs, this user's, one link, two distinct ones) and unlinked at once: nothing is
 * left on disk, and no other user could have reached them.
 *
 * Undefined where that is not possible (Windows, no `mkfifo`, no writable temporary folder, any
 * check failing): the caller then spawns with socket pairs, as before; the firewall's rules are the
 * same either way.
 *
 * What a pipe allows that a socket pair does not: a process of the same user can open another's
 * pipe again through `/proc/<pid>/fd/<n>` (a socket refuses that open), so a server that runs code
 * as the user could read or write a sibling session's server pipes. That is no new power over what
 * such a process already has as the user (it can edit the host's configuration, the lockfile and
 * policy, or `sigil` itself); `sigil run` is a boundary for MCP messages, not between processes of
 * one user (docs/resolver.md, the firewall's transport).
 */
export function serverPipes(options: { mkfifo?: readonly string[]; deadlineMs?: number } = {}): Promise<ServerPipes | undefined> {
  const deadlineMs = options.deadlineMs ?? DEADLINE_MS;
  return new Promise((resolve) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      resolve(undefined);
    }, deadlineMs);
    void makePipes(options.mkfifo ?? MKFIFO, deadlineMs).then(
      (pipes) => {
        clearTimeout(timer);
        // Made after the deadline: the caller has gone on with socket pairs.
        if (late) pipes?.close();
        else resolve(pipes);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

async function makePipes(candidates: readonly string[], timeoutMs: number): Promise<ServerPipes | undefined> {
  if (process.platform === 'win32') return undefined;
  let dir: string | undefined;
  const open: number[] = [];
  const openFd = (path: string, flags: number): number => {
    const fd = openSync(path, flags);
    open.push(fd);
    return fd;
  };
  try {
    dir = await mkdtemp(join(tmpdir(), 'sigil-run-'));
    const inPath = join(dir, 'in');
    const outPath = join(dir, 'out');
    const mkfifo = candidates.find((path) => existsSync(path));
    if (mkfifo === undefined) return undefined;
    await new Promise<void>((done, fail) => {
      execFile(mkfifo, ['-m', '600', '--', inPath, outPath], { timeout: timeoutMs, killSignal: 'SIGKILL', env: {} }, (error) => (error ? fail(error) : done()));
    });
    // Each FIFO's read end first: a non-blocking open for writing fails (ENXIO) without a reader.
    // The server's ends are opened non-blocking too, as their own open file descriptions, and
    // libuv makes a child's descriptors 0 to 2 blocking as it starts it (uv__process_child_init),
    // so the server reads and writes blocking ends, as from a shell pipeline; the proxy's stay
    // non-blocking.
    const childIn = openFd(inPath, constants.O_RDONLY | OPEN_FLAGS);
    const toServer = openFd(inPath, constants.O_WRONLY | OPEN_FLAGS);
    const fromServer = openFd(outPath, constants.O_RDONLY | OPEN_FLAGS);
    const childOut = openFd(outPath, constants.O_WRONLY | OPEN_FLAGS);
    const stats = [toServer, childIn, fromServer, childOut].map((fd) => fstatSync(fd));
    const euid = process.geteuid?.();
    const sane = (s: Stats): boolean => s.isFIFO() && s.nlink === 1 && (euid === undefined || s.uid === euid);
    const same = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino;
    if (!stats.every(sane) || !same(stats[0]!, stats[1]!) || !same(stats[2]!, stats[3]!) || same(stats[0]!, stats[2]!)) throw new Error('not the FIFOs made');
    let serverEnds = [childIn, childOut];
    const closeAll = (fds: number[]): void => {
      for (const fd of fds) {
        const at = open.indexOf(fd);
        if (at < 0) continue;
        open.splice(at, 1);
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
    };
    const pipes: ServerPipes = {
      childIn,
      childOut,
      toServer,
      fromServer,
      release: () => {
        closeAll(serverEnds);
        serverEnds = [];
      },
      close: () => closeAll([...open]),
    };
    return pipes;
  } catch {
    for (const fd of open.splice(0)) closeSync(fd);
    return undefined;
  } finally {
    // The FIFOs are unlinked as soon as they are open (or failed): only the descriptors remain.
    try {
      if (dir) rmSync(dir, { recursive: true, force: true });
    } catch {
      // A folder left in the temporary folder, empty of anything open: not worth the session.
    }
  }
}
