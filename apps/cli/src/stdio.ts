import { writeSync } from 'node:fs';

/** Where a command's text goes: what `Output` and commander need of a stream. */
export interface TextSink {
  write(text: string): unknown;
  /** Whether the sink is a terminal (progress shows only there); read when first asked. */
  readonly isTTY?: boolean | undefined;
  /**
   * Bytes written but not yet taken by the descriptor (its reader is slower than the writer), and
   * a call once they are: what lets a producer that could outrun it (`sigil run` logging a server's
   * stderr) stop reading meanwhile. Absent: the sink takes every write whole.
   */
  backlogBytes?(): number;
  whenDrained?(callback: () => void): void;
  /**
   * A count that falls as the reader takes the backlog, for telling a slow reader from none:
   * backlogBytes holds a write in flight whole until it completes, and the stream hands what
   * waited to the descriptor as one write (of megabytes, behind a slow reader), so it can stand
   * still for many seconds while the reader reads. This adds libuv's count of that write's bytes
   * still to go, where Node's handle shows it (`writeQueueSize`).
   */
  backlogMark?(): number;
}

/**
 * The process's standard output (1) or error (2) for a command's text: written directly (fdSink)
 * except on Windows, whose console takes text through its stream (a raw write would go out in
 * the console's code page).
 */
export function stdioSink(fd: 1 | 2): TextSink {
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  if (process.platform !== 'win32') return fdSink(fd, stream);
  return {
    write: (text: string) => stream().write(text),
    get isTTY() {
      return stream().isTTY === true;
    },
  };
}

/**
 * Standard output or error as a sink that writes each text at once with `write(2)`, falling back
 * to `stream()` (process.stdout or process.stderr) only when it must. A host starts `sigil` at
 * every launch with its stdout a pipe, and process.stdout for a pipe brings Node's net and stream
 * modules with it: 24 M instructions to print one line (callgrind, `node` printing "x" into a
 * pipe: 106.9 M through process.stdout, 88.2 M through fs.writeSync; `node` doing nothing, 82.7 M).
 * A descriptor another part of the process made non-blocking (`sigil run` reads and writes fd 1
 * through sockets) may refuse a write (EAGAIN): the rest of that text and everything after it then
 * go through the stream, in order, as any other write error does (on standard output EPIPE then
 * ends the command with status 141, as SIGPIPE would; on standard error it is ignored, below). Each text is written whole before `write` returns, so nothing is left to flush at exit.
 * Every line a command prints goes through its Output (`sigil run`'s log lines too), so no text
 * written through the stream can be left queued when a direct write follows it.
 */
export function fdSink(fd: number, stream: () => NodeJS.WriteStream): TextSink {
  let fallback: NodeJS.WriteStream | undefined;
  return {
    write(text: string): boolean {
      if (fallback) return fallback.write(text);
      const bytes = Buffer.from(text, 'utf8');
      let at = 0;
      try {
        while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
        return true;
      } catch {
        fallback = stream();
        // Standard error whose reader went away (EPIPE) fails the stream, which would otherwise
        // throw its error as an uncaught one and end the process mid-command (`sigil run`
        // mid-session, its server left running): the diagnostics that cannot be written are lost,
        // and the command goes on. Standard output's errors still surface: its text is the result.
        if (fd === 2) fallback.on('error', () => undefined);
        // Standard output whose reader went away (`sigil … | head -1`): the rest cannot be
        // delivered, so the command ends as a Unix tool killed by SIGPIPE would (status 141), not
        // with an uncaught error's stack trace. Any other error still surfaces.
        else fallback.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EPIPE') throw e;
          process.exit(128 + 13);
        });
        return fallback.write(bytes.subarray(at));
      }
    },
    get isTTY() {
      return stream().isTTY === true;
    },
    backlogBytes: () => fallback?.writableLength ?? 0,
    backlogMark: () => (fallback ? fallback.writableLength + ((fallback as { _handle?: { writeQueueSize?: number } })._handle?.writeQueueSize ?? 0) : 0),
    whenDrained(callback) {
      if (!fallback || fallback.writableLength === 0) return void setImmediate(callback);
      // A stream that failed (EPIPE: the reader went away) never drains: its close releases too.
      const done = (): void => {
        fallback?.off('drain', done);
        fallback?.off('close', done);
        callback();
      };
      fallback.once('drain', done);
      fallback.once('close', done);
    },
  };
}
