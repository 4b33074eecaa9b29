import { readFileSync } from 'node:fs';
import { CliError, UsageError } from './errors.js';

/** Longest token file read: tokens are a few hundred bytes at most. */
const MAX_TOKEN_FILE = 4096;

/**
 * The API token from `--token-file <file>` (or `-` for stdin), so it never shows in the process
 * list as `--token` does: the first line, trimmed. Refuses an empty or oversized file.
 * @example readTokenFile('-', () => readFileSync(0, 'utf8'))
 */
export function readTokenFile(path: string, readStdin: () => string = () => readFileSync(0, 'utf8')): string {
  let text: string;
  try {
    text = path === '-' ? readStdin() : readFileSync(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') throw new CliError('FILE_NOT_FOUND', `the token file ${path} does not exist`, [], 1, { cause: e });
    throw new CliError('FILE_UNREADABLE', `the token file ${path} cannot be read (${errno ?? 'error'})`, [], 1, { cause: e });
  }
  if (text.length > MAX_TOKEN_FILE) throw new UsageError(`the token file ${path} is larger than ${MAX_TOKEN_FILE} bytes; it should hold one token`);
  const token = text.split(/\r?\n/, 1)[0]!.trim();
  if (!token) throw new UsageError(`the token file ${path === '-' ? '(stdin)' : path} is empty`);
  return token;
}

/** Printed once when `--token` is used: its value is visible to every local user in `ps`. */
export const TOKEN_FLAG_WARNING = 'warning: --token shows the token to other local users (process list, shell history); use --token-file <file>, --token-file - (stdin) or SIGIL_TOKEN\n';
