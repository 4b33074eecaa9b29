import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { Manifest } from '@sigil/manifest';
import { reapGroup, signalGroup, USE_PROCESS_GROUPS } from '../process-group.js';
import { adoptReader, batchedWriter, fdReader, streamFd } from './fd-io.js';
import { Firewall, MAX_HELD_BYTES } from './firewall.js';
import { lineSplitter, onLines, type LineSplitter } from './lines.js';
import { loadSchemaValidator, type SchemaValidator } from './output-check.js';
import { serverEnvironment } from './server-env.js';
import type { ServerPipes } from './server-pipes.js';

/** Largest single JSON-RPC message accepted in either direction. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** After the host leaves, how long the server may take to exit before SIGTERM, then SIGKILL. */
const EXIT_GRACE_MS = 5000;
/** After the server exits, how long its stdout and stderr may stay open (held by a process it left behind). */
const STDOUT_GRACE_MS = 1000;
/**
 * After the server exits, how long its stderr may wait for the log's reader (LOG_BACKLOG_BYTES)
 * with nothing moving (nothing read from the server, the log's backlog not going down) before it
 * is closed unread; and how long after the exit, in all, once more was read than the server can
 * have left in its pipes (something it left running, writing for ever, would otherwise hold the
 * session for ever). See closeStdout.
 */
const LOG_GRACE_MS = 10_000;
const LOG_GRACE_TOTAL_MS = 60_000;
/** More than the server can have left in its pipes when it exits (Linux's largest default pipe, pipe-max-size, is 1 MiB). */
const PIPE_LEFT_BYTES = 1024 * 1024;
/** Signals a host may stop `sigil run` with, passed on to the server. */
const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** After passing a signal on, how long the server may take to exit before SIGKILL. */
const SIGNAL_GRACE_MS = 1000;
/** Longest line of the server's stderr logged (longer ones are left out, and said so). */
const MAX_STDERR_LINE_BYTES = 64 * 1024;
/** After a refusal, how long the host may keep asking (each request answered with the code). */
const REFUSED_LINGER_MS = 10_000;
/** How long what the server left in its process group has, after SIGTERM at the session's end, before SIGKILL. */
const GROUP_GRACE_MS = 1000;
/**
 * Most bytes waiting for a peer whose pipe is full before the proxy stops reading that same peer
 * too (flow control in runGuardProxy). Honest traffic stays below it: while a pipe is full the
 * other side is not read, so what waits is at most the messages held during a check, released at
 * once when it passes (MAX_HELD_BYTES), and one read's lines (one of them up to MAX_MESSAGE_BYTES).
 */
export const BACKLOG_BYTES = 2 * MAX_HELD_BYTES;
/** Most log text waiting for its reader before the server's stderr is no longer read, and repeated events are counted instead (GuardProxyOptions.logBacklog). */
export const LOG_BACKLOG_BYTES = 1024 * 1024;
/** Firewall events a peer can repeat per message it sends. */
const REPEATED_EVENTS: ReadonlySet<string> = new Set(['sigil.run.dropped', 'sigil.run.recheck', 'sigil.run.refused-call', 'sigil.run.refused-result', 'sigil.run.opening-refused']);

export interface GuardProxyOptions {
  /** The pinned, verified manifest the server must match. */
  manifest: Manifest;
  command: string;
  args: readonly string[];
  /** The server's environment (default: this process's); Sigil's secrets are removed either way (server-env.ts). */
  env?: NodeJS.ProcessEnv;
  /**
   * Host side: messages from the host, and where to write messages to it. A file descriptor (a
   * pipe or a socket: fd-io.ts's isPipeOrSocket) is read and written directly, without Node's
   * stream machinery per message.
   */
  input: Readable | number;
  output: Writable | number;
  /** One structured log line (stderr in `sigil run`). */
  log: (event: Record<string, unknown>) => void;
  /**
   * The log's backlog (Output.errorBacklog): while more than {@link LOG_BACKLOG_BYTES} of log text
   * wait for a reader slower than the server's stderr, that stderr is not read, so a server cannot
   * grow this process's memory by writing lines faster than the host reads the log.
   */
  logBacklog?: { pending(): number; onDrain(callback: () => void): void; mark?(): number } | undefined;
  /** Longest wait for each server answer during a tools check (default 30 s). */
  checkTimeoutMs?: number;
  /** Longest a whole tools check may take (default 60 s). */
  checkDeadlineMs?: number;
  /** The policy's `liveTools: "pinned-subset"` (docs/resolver.md): the server may leave pinned tools out. */
  allowMissingTools?: boolean;
  /**
   * The server's stdin and stdout as FIFOs (server-pipes.ts), which the proxy then owns and closes;
   * without them, Node's socket pairs. The same bytes either way: FIFOs cost the kernel less per
   * message.
   */
  pipes?: ServerPipes;
}

/**
 * The `sigil run` proxy: spawns the stdio server and puts the message firewall (firewall.ts)
 * between it and the host. Resolves with the exit status once the session is over:
 * - the server's own exit code when it ends the session (after the host left, or by itself);
 * - 128 + the signal number when the server died of a signal;
 * - 1 only when Sigil refused the session, which the firewall logged as one `sigil.run.refused`
 *   line with its code.
 */
export async function runGuardProxy(options: GuardProxyOptions): Promise<number> {
  // Loaded before the server starts, and only for a manifest that pins an outputSchema.
  const schemaValidator = options.manifest.tools.some((t) => t.outputSchema !== undefined) ? await loadSchemaValidator() : undefined;
  return guard(options, schemaValidator);
}

function guard(options: GuardProxyOptions, schemaValidator: SchemaValidator | undefined): Promise<number> {
  const { manifest, log, logBacklog } = options;
  // The firewall's events that a peer can make it repeat per message (a refused call or result, a
  // dropped message, a re-check per list_changed notice): while more than LOG_BACKLOG_BYTES of log
  // text wait for their reader, they are counted instead of written, and one line says how many
  // once the log has drained. The session's own events (verified, refused, the server's exit) are
  // always written.
  let logSkipped = 0;
  const firewallLog = (event: Record<string, unknown>): void => {
    if (logBacklog === undefined || !REPEATED_EVENTS.has(event.event as string) || logBacklog.pending() <= LOG_BACKLOG_BYTES) return log(event);
    if (logSkipped++ > 0) return;
    logBacklog.onDrain(() => {
      log({ level: 'warn', event: 'sigil.run.log-skipped', server: manifest.name, count: logSkipped, reason: `${logSkipped} repeated events were not logged while more than ${LOG_BACKLOG_BYTES} bytes of log waited for their reader` });
      logSkipped = 0;
    });
  };
  const outputFd = typeof options.output === 'number' ? options.output : undefined;
  const output = outputFd === undefined ? (options.output as Writable) : new Socket({ fd: outputFd, readable: false, writable: true });
  // Set once the firewall exists (below): the readers hand their chunks to it.
  let hostLines: LineSplitter | undefined;
  let serverLines: LineSplitter | undefined;
  const input = typeof options.input === 'number' ? fdReader(options.input, (chunk) => chunkOf(hostLines, chunk)) : options.input;
  // In a process group of its own (POSIX), signalled as a group: a server started through a launcher
  // (npx, sh -c) is stopped with it, not left running orphaned (process-group.ts).
  const pipes = options.pipes;
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], { env: serverEnvironment(options.env ?? process.env), stdio: pipes ? [pipes.childIn, pipes.childOut, 'pipe'] : ['pipe', 'pipe', 'pipe'], detached: USE_PROCESS_GROUPS });
  } catch (e) {
    pipes?.close();
    throw e;
  }
  // The child has its own copies: this process keeps only its own ends.
  pipes?.release();
  // The server's stdin: the FIFO's write end as a stream (for what the writer's direct write does
  // not take at once, and for its errors), or the socket pair spawn made.
  const serverIn: Writable = pipes ? new Socket({ fd: pipes.toServer, readable: false, writable: true }) : child.stdin!;
  // The server's stdout read without a stream per read (fd-io.ts): the FIFO's read end, or the
  // socket pair's handle adopted in this tick, before the event loop reads it; otherwise the stream.
  const adopted = pipes ? fdReader(pipes.fromServer, (chunk) => chunkOf(serverLines, chunk)) : child.stdout ? adoptReader(child.stdout, (chunk) => chunkOf(serverLines, chunk)) : undefined;
  const serverOut: Readable | null = adopted ?? child.stdout;
  const kill = (signal: NodeJS.Signals): void => signalGroup(child.pid, signal);
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void): void => {
    timers.push(setTimeout(fn, ms));
  };
  let outputOpen = true;
  // Backpressure: while the host's pipe is full, the server's stdout is not read (so a server
  // cannot grow the proxy's memory by writing faster than the host reads: it blocks, as it would
  // talking to the host directly); while the server's pipe is full, the host's stdin is not read.
  // The host's stdin stays read while its own pipe is full: a host that writes a burst before it
  // reads must not deadlock on the proxy (what the firewall answers it itself is its own doing).
  // Likewise the server's stdout while the server's pipe is full. But what a peer sends can make the
  // proxy answer that peer itself (a refused server request, an unpinned call), several times the
  // bytes it sent: once more than BACKLOG_BYTES wait for a peer that does not read, that peer is not
  // read either, so no peer can grow the proxy's memory by writing without reading.
  let hostFull = false;
  let serverFull = false;
  let flowing = true;
  const flow = (): void => {
    if (!flowing) return;
    if (hostFull || (serverFull && serverIn.writableLength > BACKLOG_BYTES)) serverOut?.pause();
    else serverOut?.resume();
    if (serverFull || (hostFull && output.writableLength > BACKLOG_BYTES)) input.pause();
    else input.resume();
  };
  const toHost = batchedWriter(
    output,
    (full) => {
      hostFull = full;
      flow();
    },
    outputFd,
  );
  const toServer = batchedWriter(
    serverIn,
    (full) => {
      serverFull = full;
      flow();
    },
    pipes ? pipes.toServer : streamFd(serverIn),
  );
  /**
   * One read chunk's lines through the firewall, then what they made written: one write per peer
   * per chunk, without a tick scheduled for it (the writers' tick stays for writes made elsewhere,
   * by timers and the tools check).
   */
  const chunkOf = (lines: LineSplitter | undefined, chunk: Buffer): void => {
    if (lines === serverLines) serverBytes += chunk.length;
    toHost.hold();
    toServer.hold();
    try {
      lines?.push(chunk);
    } finally {
      toHost.flush();
      toServer.flush();
      // A backlog past its bound stops the reading that feeds it (above); only while a pipe is full.
      if (hostFull || serverFull) flow();
    }
  };
  /** Bytes read from the server's stdout and stderr: whether it still has something to say (closeStdout). */
  let serverBytes = 0;
  let childGone = false;
  let hostGone = false;
  let status = 0;

  return new Promise<number>((resolveExit) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      flowing = false;
      for (const t of timers) clearTimeout(t);
      toHost.flush();
      outputOpen = false;
      output.end();
      input.pause();
      // The FIFOs' ends are this process's own (a socket pair's go with the child).
      if (pipes) {
        serverIn.destroy();
        serverOut?.destroy();
      }
      // Whatever the server left running in its process group (a helper, a worker) is stopped with
      // the session, not left behind unparented: SIGTERM, then SIGKILL after a grace.
      // The signal handlers stay meanwhile: a host's SIGTERM then waits for the reaping, not kills it.
      reapGroup(child.pid, GROUP_GRACE_MS, () => {
        for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
        resolveExit(firewall.refusal ? 1 : status);
      });
    };
    const stopChild = (graceMs: number): void => {
      toServer.flush();
      serverIn.end();
      later(graceMs, () => !childGone && kill('SIGTERM'));
      later(graceMs * 2, () => !childGone && kill('SIGKILL'));
    };
    // A host stops a server that does not leave after its stdin closed by signalling it (the SDKs
    // send SIGTERM, then SIGKILL); here it signals `sigil run`, which passes the signal on and
    // ends with the server, instead of dying at once and leaving the server running unparented.
    const onSignal = (signal: NodeJS.Signals): void => {
      hostGone = true;
      if (childGone) return maybeFinish();
      kill(signal);
      later(SIGNAL_GRACE_MS, () => !childGone && kill('SIGKILL'));
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
    const maybeFinish = (): void => {
      if (!childGone) return;
      if (!firewall.refusal || hostGone) finish();
    };

    const firewall = new Firewall({
      manifest,
      log: firewallLog,
      checkTimeoutMs: options.checkTimeoutMs ?? 30_000,
      ...(options.checkDeadlineMs === undefined ? {} : { checkDeadlineMs: options.checkDeadlineMs }),
      allowMissingTools: options.allowMissingTools === true,
      ...(schemaValidator ? { schemaValidator } : {}),
      toHost: (text) => {
        if (outputOpen) toHost.line(text);
      },
      toServer: (text) => {
        if (!childGone && serverIn.writable) toServer.line(text);
      },
      onRefused: () => {
        stopChild(1000);
        // Keep answering the host with the refusal for a while, then end regardless.
        later(REFUSED_LINGER_MS, () => {
          hostGone = true;
          maybeFinish();
        });
      },
    });

    // EPIPE: the server no longer reads. Once it has exited the exit event says the rest; while it
    // runs it closed its stdin, and what was written to it is lost: the firewall answers every
    // waiting host request, and the server is stopped as when the host leaves.
    serverIn.on('error', () => {
      if (childGone || finished) return;
      firewall.serverInputClosed();
      stopChild(EXIT_GRACE_MS);
    });
    output.on('error', () => {
      outputOpen = false;
      // The host will never read again: nothing is held back for it any more.
      hostFull = false;
      flow();
    });
    hostLines = lineSplitter(MAX_MESSAGE_BYTES, (line) => firewall.fromHost(line), () => firewall.hostOversize(MAX_MESSAGE_BYTES));
    if (typeof options.input !== 'number') input.on('data', (chunk: Buffer) => chunkOf(hostLines, chunk));
    // The server's stderr is not passed through to the log stream as it is: there it could write
    // lines that read as Sigil's own events (a forged `sigil.run.verified`), or an unfinished line
    // that Sigil's next line (a refusal) would be glued onto and lost. Each of its lines is logged
    // as one event of its own instead.
    // No stderr when the spawn failed before making any stdio (EMFILE): its 'error' ends the session.
    // A read error on the server's stderr ends it (its 'close' follows); it is no session's end.
    child.stderr?.on('error', () => undefined);
    if (child.stderr) onLines(
      child.stderr,
      MAX_STDERR_LINE_BYTES,
      (line) => log({ level: 'info', event: 'sigil.run.server-stderr', server: manifest.name, text: line.toString('utf8') }),
      () => log({ level: 'warn', event: 'sigil.run.server-stderr', server: manifest.name, text: null, reason: `a line over ${MAX_STDERR_LINE_BYTES} bytes was left out` }),
      true,
    );
    // Each of the server's stderr lines is a log line several times its size (a line of one
    // character, about a hundred and fifty bytes): the stderr waits while the log does.
    const serverErr = child.stderr;
    serverErr?.on('data', (chunk: Buffer) => (serverBytes += chunk.length));
    // Whether the server's stderr waited for the log's reader since closeStdout last looked.
    let waitedForLog = false;
    if (serverErr && logBacklog) {
      serverErr.on('data', () => {
        if (serverErr.isPaused() || logBacklog.pending() <= LOG_BACKLOG_BYTES) return;
        waitedForLog = true;
        serverErr.pause();
        logBacklog.onDrain(() => serverErr.resume());
      });
    }
    serverLines = lineSplitter(MAX_MESSAGE_BYTES, (line) => firewall.fromServer(line), () => firewall.serverOversize(MAX_MESSAGE_BYTES));
    if (!adopted) child.stdout?.on('data', (chunk: Buffer) => chunkOf(serverLines, chunk));
    // The host leaves: its stdin ends, or fails (a socket it shares for stdin and stdout, closed
    // with our answers unread, resets: ECONNRESET), which is the same end, not a crash. The server's
    // input ends once the tools check no longer holds what the host sent before it left.
    let hostLeft = false;
    const onHostLeft = (end: boolean): void => {
      if (hostLeft) return;
      hostLeft = true;
      hostGone = true;
      const stop = (): void => {
        if (!childGone && !firewall.refusal) stopChild(EXIT_GRACE_MS);
      };
      // A failed input (a reset socket) cannot read the answers: nothing is worth waiting for.
      if (end) firewall.afterVerifying(stop);
      else stop();
      maybeFinish();
    };
    input.on('end', () => onHostLeft(true));
    input.on('error', () => onHostLeft(false));
    child.on('error', (e) => {
      // A refusal like any other: the host's requests, the opening first, are answered
      // SERVER_UNREACHABLE until it leaves, or for REFUSED_LINGER_MS (a host would otherwise see
      // its server end without a word, the likeliest failure of a host without a shell's PATH).
      firewall.refuse('SERVER_UNREACHABLE', { reason: `the server could not be started: ${e.message}`, details: {} });
      childGone = true;
      maybeFinish();
    });
    // 'close' waits for the server's stdout to end, which a process it started and left running
    // (holding the same pipe) can put off for ever: once the server itself has exited, what it
    // wrote is read for STDOUT_GRACE_MS more, then its stdout and stderr are closed so the session
    // ends. (Not while the host's backpressure holds the pipe unread: what is in it is still to
    // come.) Longer in two cases, while something moves (a read from the server, or the log's
    // backlog going down), up to LOG_GRACE_MS with nothing moving:
    // - its stderr waits, or waited since the last look, for the log's reader (above): its last
    //   lines, a crash message often, are still in the pipe, and a slow reader on a loaded
    //   machine takes many seconds for the megabytes of log one read of it makes;
    // - the look came late: the process was stalled (a blocking stderr waits for its reader in a
    //   write), so the pipes were not read meanwhile.
    // What the server left in its pipes is at most what a pipe holds; more read after its exit is
    // written by something it left running, and is read up to LOG_GRACE_TOTAL_MS after the exit.
    const logMark = (): number => logBacklog?.mark?.() ?? logBacklog?.pending() ?? 0;
    let exitAt = 0;
    let lastLook = 0;
    let movedAt = 0;
    let bytesAtExit = 0;
    let bytesSeen = 0;
    let markSeen = 0;
    const closeStdout = (): void =>
      later(STDOUT_GRACE_MS, () => {
        const now = performance.now();
        const late = now - lastLook > 2 * STDOUT_GRACE_MS;
        lastLook = now;
        if (hostFull) return closeStdout();
        const mark = logMark();
        const moved = serverBytes !== bytesSeen || mark !== markSeen;
        bytesSeen = serverBytes;
        markSeen = mark;
        if (moved) movedAt = now;
        const paused = serverErr?.isPaused() === true;
        const forLog = serverErr !== null && !serverErr.destroyed && !serverErr.readableEnded && (paused || (waitedForLog && moved));
        waitedForLog = paused;
        const leftRunning = serverBytes - bytesAtExit > PIPE_LEFT_BYTES;
        if ((late || forLog) && now - movedAt < LOG_GRACE_MS && (!leftRunning || now - exitAt < LOG_GRACE_TOTAL_MS)) return closeStdout();
        serverOut?.destroy();
        child.stderr?.destroy();
        // And what it left running in its group is stopped, not left behind unparented.
        kill('SIGTERM');
      });
    // The server closed its stdout and runs on: nothing it answers can arrive any more (a host
    // connected directly would see the stream end). Unless it exits within STDOUT_GRACE_MS (the
    // usual order of a process's end), every waiting host request is answered SERVER_UNREACHABLE,
    // and so is every later one, and the server is stopped as when the host leaves.
    serverOut?.on('end', () =>
      later(STDOUT_GRACE_MS, () => {
        if (childGone || finished || exitAt !== 0) return;
        firewall.serverOutputClosed();
        stopChild(EXIT_GRACE_MS);
      }),
    );
    child.on('exit', () => {
      exitAt = lastLook = movedAt = performance.now();
      bytesAtExit = bytesSeen = serverBytes;
      markSeen = logMark();
      closeStdout();
    });
    // The session's end on the server's side: it exited and its stdout and stderr closed. An adopted
    // stdout is not among what the child's 'close' waits for (fd-io.ts), so its own 'close' is too.
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let stdoutOpen = adopted !== undefined;
    adopted?.on('error', () => undefined); // a read error destroys it: its 'close' follows
    adopted?.on('close', () => {
      stdoutOpen = false;
      if (exited) serverEnded(exited.code, exited.signal);
    });
    child.on('close', (code, signal) => {
      exited = { code, signal };
      if (!stdoutOpen) serverEnded(code, signal);
    });
    const serverEnded = (code: number | null, signal: NodeJS.Signals | null): void => {
      childGone = true;
      status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      if (!firewall.refusal) {
        log({ level: firewall.state === 'open' || hostGone ? 'info' : 'error', event: 'sigil.run.server-exit', server: manifest.name, code, signal, state: firewall.state, status });
        firewall.serverGone(`the server exited (${signal ?? `code ${code}`}) in state ${firewall.state}`);
      }
      maybeFinish();
    };
  });
}
