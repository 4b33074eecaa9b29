// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { promises as fsp, statSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { CliError } from './errors.js';

/** Reads at most `limit` bytes of a file; a larger file is refused rather than read whole. */
export async function readBounded(path: string, limit: number, code = 'FILE_TOO_LARGE'): Promise<Uint8Array> {
  let handle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (cause) {
    throw fileError(path, cause);
  }
  try {
    const buffer = Buffer.alloc(limit + 1);
    let size = 0;
    while (size <= limit) {
      // Read on from where the last read ended (no position): a pipe, a FIFO or /dev/stdin
      // (`sigil manifest check <(…)`) cannot seek. A directory or a failing device is the
      // file's error, with its code, never an unexpected failure.
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, size, limit + 1 - size, null));
      } catch (cause) {
        throw fileError(path, cause);
      }
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    if (size > limit) throw new CliError(code, `${path} is larger than ${limit} bytes`);
    return buffer.subarray(0, size);
  } finally {
    await handle.close();
  }
}

/** Writes a file atomically: a temporary file beside it, then a rename. */
export async function writeAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fsp.writeFile(tmp, data, { mode, flag: 'wx' });
    await fsp.rename(tmp, path);
  } catch (cause) {
    await fsp.unlink(tmp).catch(() => undefined);
    // Name the file the person asked for, never the temporary one beside it.
    const errno = (cause as NodeJS.ErrnoException)?.code;
    const why = errno === 'ENOENT' ? `the folder ${dirname(path)} does not exist` : errno === 'EACCES' || errno === 'EPERM' ? `no permission to write in ${dirname(path)}` : (errno ?? 'the write failed');
    throw new CliError('FILE_UNWRITABLE', `cannot write ${path}: ${why}`, [], 1, { cause });
  }
}

/**
 * One code for a missing input file, whichever command reads it: FILE_NOT_FOUND, naming the file
 * as given (never a temporary name), what it is, and how to make it.
 */
export async function requireFile(path: string, what: string, howToMake = ''): Promise<void> {
  try {
    // Synchronous: one system call, where the thread pool's round trip cost more and made a
    // host's warm start load Node's fs/promises for this check alone.
    const info = statSync(path);
    if (!info.isFile()) throw new CliError('FILE_UNREADABLE', `${what} ${path} is not a file`);
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw fileError(path, cause, what, howToMake);
  }
}

function fileError(path: string, cause: unknown, what = 'the file', howToMake = ''): CliError {
  const errno = (cause as NodeJS.ErrnoException)?.code;
  if (errno === 'ENOENT') return new CliError('FILE_NOT_FOUND', `${what} ${path} does not exist${howToMake ? `; ${howToMake}` : ''}`, [], 1, { cause });
  return new CliError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${errno ?? String(cause)}`, [], 1, { cause });
}

/** How to make a key pair, for messages about a missing key file. */
export const MAKE_KEY = 'make a key pair with sigil keygen --out <file> (it writes <file> and <file>.pub)';
