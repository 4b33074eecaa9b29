import { open, rename, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { CliError } from './errors.js';

/** Reads at most `limit` bytes of a file; a larger file is refused rather than read whole. */
export async function readBounded(path: string, limit: number, code = 'FILE_TOO_LARGE'): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new CliError('FILE_UNREADABLE', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, [], 1, { cause });
  }
  try {
    const buffer = Buffer.alloc(limit + 1);
    let size = 0;
    while (size <= limit) {
      const { bytesRead } = await handle.read(buffer, size, limit + 1 - size, size);
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
  await writeFile(tmp, data, { mode, flag: 'wx' });
  await rename(tmp, path);
}
