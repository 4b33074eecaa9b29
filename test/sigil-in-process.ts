import { Writable } from 'node:stream';
import { main } from '@sigil/cli/main';
import type { RunResult } from '@sigil/testing';

/**
 * Runs `sigil` in this process through main(), with its own stdout, stderr and environment, and
 * returns what `runSigil` returns for a child process. Most CLI flows run this way: the same
 * commands and assertions without starting Node for every call (a few tests keep real processes
 * for exit codes, stdio and signals). `cwd` is entered for the call and left after it: test files
 * run in their own worker process and their tests one at a time, so nothing else sees it.
 */
export async function sigilInProcess(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult & { code: number }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        add(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
        done();
      },
    });
  const env = { ...process.env, SIGIL_REGISTRY: '', SIGIL_TOKEN: '', ...options.env };
  const before = process.cwd();
  if (options.cwd) process.chdir(options.cwd);
  try {
    const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env });
    return { code, signal: null, stdout, stderr };
  } finally {
    if (options.cwd) process.chdir(before);
  }
}
