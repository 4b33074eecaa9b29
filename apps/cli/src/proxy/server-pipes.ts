import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, rmSync, type Stats } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Longest `mkfifo` may take; past it the server gets Node's socket pairs, as without FIFOs. */
const MKFIFO_TIMEOUT_MS = 2000;

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
 * check failing): the caller then spawns with socket pairs, as before. Nothing here is a security
 * decision; it only changes how the same bytes travel.
 */
export async function serverPipes(): Promise<ServerPipes | undefined> {
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
    await new Promise<void>((done, fail) => {
      execFile('mkfifo', ['-m', '600', '--', inPath, outPath], { timeout: MKFIFO_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (error) => (error ? fail(error) : done()));
    });
    // The order makes every open return at once: a FIFO's blocking open for reading waits for a
    // writer, for writing waits for a reader, and a non-blocking open for writing fails without one.
    // The server's stdin: a reader held only while the proxy's write end opens.
    const probe = openFd(inPath, constants.O_RDONLY | constants.O_NONBLOCK);
    const toServer = openFd(inPath, constants.O_WRONLY | constants.O_NONBLOCK);
    const childIn = openFd(inPath, constants.O_RDONLY);
    closeSync(open.splice(open.indexOf(probe), 1)[0]!);
    // The server's stdout.
    const fromServer = openFd(outPath, constants.O_RDONLY | constants.O_NONBLOCK);
    const childOut = openFd(outPath, constants.O_WRONLY);
    const stats = [toServer, childIn, fromServer, childOut].map((fd) => fstatSync(fd));
    const euid = process.geteuid?.();
    const sane = (s: Stats): boolean => s.isFIFO() && s.nlink === 1 && (euid === undefined || s.uid === euid);
    if (!stats.every(sane) || stats[0]!.ino !== stats[1]!.ino || stats[2]!.ino !== stats[3]!.ino || stats[0]!.ino === stats[2]!.ino) throw new Error('not the FIFOs made');
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
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
