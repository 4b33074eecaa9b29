import { fstatSync, writeSync } from 'node:fs';
import { Socket, type ConnectOpts, type SocketConstructorOpts } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** Bytes read from a descriptor at a time, into one buffer reused for every read. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Largest joined write encoded into the writer's reused buffer (larger ones get a buffer of their own). */
const WRITE_BUFFER_BYTES = 64 * 1024;

/**
 * Whether a file descriptor is a pipe or a socket: what `sigil run`'s host side reads and writes
 * directly (fdReader, batchedWriter with an fd). A file or a terminal goes through process.stdin
 * and process.stdout as before.
 */
export function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

/**
 * Reads a pipe or socket descriptor without the stream machinery per read: each read lands in one
 * buffer, reused, and is handed to `onChunk` synchronously (which must not keep it). The socket is
 * returned for what a stream is still used for: pause/resume, 'end', 'error'. Node's `onread`
 * option (documented for `new net.Socket`, typed only for connect).
 */
export function fdReader(fd: number, onChunk: (chunk: Buffer) => void): Socket {
  const onread = reusedBuffer(onChunk);
  return new Socket({ fd, readable: true, writable: false, onread } as SocketConstructorOpts);
}

/** A pipe or socket descriptor as a writable socket of this process's own (which, unlike process.stdout, can be destroyed with writes waiting). */
export function fdWriter(fd: number): Socket {
  return new Socket({ fd, readable: false, writable: true });
}

/** Node's `onread` option: every read into one buffer, reused, handed to `onChunk` at once (which must not keep it). */
function reusedBuffer(onChunk: (chunk: Buffer) => void): ConnectOpts['onread'] {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return {
    buffer,
    callback: (bytes) => {
      onChunk(buffer.subarray(0, bytes));
      return true;
    },
  };
}

/** A Node stream's libuv handle (undocumented: `_handle`), as far as {@link adoptReader} relies on it. */
type StreamHandle = { readStart?: unknown; readStop?: unknown; reading?: unknown };

/**
 * Reads a child process's stdout pipe as {@link fdReader} reads a descriptor: its handle is moved to
 * a socket that hands each read over in one reused buffer (`onread`), sparing the stream machinery
 * per read (a buffer, `push`, a 'data' event). Node's `spawn` gives the pipe only as a stream, and a
 * second handle on its descriptor would fight the first for the same readiness events, so the
 * stream's own handle is taken over before the event loop reads from it (call this in the tick of
 * the spawn); the emptied stream is destroyed, which closes nothing. As with fdReader, `onChunk`
 * must not keep the chunk.
 *
 * The child's 'close' no longer waits for the pipe (its stream closed at once): the pipe's end is
 * the returned socket's 'close'. Undefined, with the stream left as it was, where the stream is not
 * a socket over such a handle or has already read something (`_handle` and `new Socket({ handle })`
 * are Node internals; the caller then reads the stream's 'data').
 */
export function adoptReader(stream: Readable, onChunk: (chunk: Buffer) => void): Socket | undefined {
  const owner = stream as Readable & { _handle?: StreamHandle | null };
  const handle = owner._handle;
  if (!(stream instanceof Socket) || handle == null || typeof handle.readStart !== 'function' || typeof handle.readStop !== 'function' || stream.readableLength > 0 || stream.destroyed) return undefined;
  const onread = reusedBuffer(onChunk);
  const socket = new Socket({ handle, readable: true, writable: false, onread } as SocketConstructorOpts);
  if ((socket as unknown as { _handle?: unknown })._handle !== handle) {
    socket.destroy();
    return undefined;
  }
  owner._handle = null;
  stream.destroy();
  return socket;
}

/**
 * The descriptor under a child process's stdio pipe, where Node has one (a POSIX pipe or socket:
 * the handle's `fd`, not part of Node's documented API, so anything else gives undefined and the
 * stream is used alone).
 */
export function streamFd(stream: Writable): number | undefined {
  const fd = (stream as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd > 2 ? fd : undefined;
}

/** What every message for one peer is written through. */
export interface BatchedWriter {
  /** Queues one line: `text` (without a newline), the writer adds the newline. */
  line(text: string): void;
  /** Writes what waits at once (before the stream ends, or at the end of a {@link BatchedWriter.hold}). */
  flush(): void;
  /**
   * Until the next flush, writes only queue: the caller flushes when the work that writes is done
   * (one read chunk's messages), which spares the tick scheduled per batch.
   */
  hold(): void;
}

/**
 * A writer of newline-delimited messages that joins every line written in the same tick into one
 * write: a burst of pipelined answers then costs one pipe write, not one each. The newlines are
 * added as the lines are joined (and the last one written into the buffer), not concatenated to
 * each message, which would copy each message once more. `onFull(true)` when the stream's buffer is past
 * its high-water mark, `onFull(false)` at its drain or its close (a failed stream never drains).
 *
 * With `fd` (the pipe or socket the stream writes to), the joined text is written with one
 * write(2) at once while nothing waits in the stream, sparing the stream's machinery (its write
 * request, callbacks and ticks), which cost the proxy more CPU per call than the system call
 * itself. What the descriptor does not take at once (a full pipe: EAGAIN, or a partial write) goes
 * through the stream, and so does everything after it until the stream has written all it holds,
 * so the bytes stay in order; an error other than EAGAIN is left to the stream to report.
 */
export function batchedWriter(stream: Writable, onFull: (full: boolean) => void, fd?: number): BatchedWriter {
  const queued: string[] = [];
  let full = false;
  let held = false;
  let scratch = fd === undefined ? undefined : Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  // A full pipe is released by its 'drain', or by its end: a stream that failed (EPIPE: the reader
  // went away) or closed never drains, and what waits on it (the other side's reading) must go on.
  const drained = (): void => {
    stream.off('drain', drained);
    stream.off('close', drained);
    if (!full) return;
    full = false;
    onFull(false);
  };
  /** Writes what the descriptor takes now; what it does not, as a buffer of its own (undefined: all written). */
  const direct = (text: string): string | Buffer | undefined => {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, so a text that short fits the buffer whole,
    // with its last newline.
    let bytes: Buffer;
    if (text.length * 3 < scratch!.length) {
      const end = scratch!.write(text);
      scratch![end] = 0x0a;
      bytes = scratch!.subarray(0, end + 1);
    } else bytes = Buffer.from(`${text}\n`);
    let written: number;
    try {
      written = writeSync(fd!, bytes);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') scratch = undefined; // the stream reports it, and writes from now on
      return `${text}\n`;
    }
    // A copy: the scratch buffer is written again by the next flush.
    return written === bytes.length ? undefined : Buffer.from(bytes.subarray(written));
  };
  const flush = (): void => {
    held = false;
    if (queued.length === 0) return;
    const text = queued.length === 1 ? queued[0]! : queued.join('\n');
    queued.length = 0;
    if (stream.writableEnded || stream.destroyed) return;
    const rest = scratch !== undefined && stream.writableLength === 0 ? direct(text) : `${text}\n`;
    if (rest === undefined || stream.write(rest) || full) return;
    full = true;
    stream.once('drain', drained);
    stream.once('close', drained);
    onFull(true);
  };
  return {
    line: (text) => {
      if (queued.push(text) === 1 && !held) process.nextTick(flush);
    },
    flush,
    hold: () => {
      held = true;
    },
  };
}
