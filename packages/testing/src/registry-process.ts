import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, runSigil, type RunResult } from './process.js';

export interface RegistryProcess {
  url: string;
  dataDir: string;
  adminToken: string;
  child: ChildProcess;
  /** Runs the real `sigil` against this registry with the given token. */
  sigil(args: readonly string[], token?: string, options?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** What the process has written to stdout so far: its log lines (SIGIL_LOG_LEVEL is `warn` unless the test sets it). */
  stdout(): string;
}

const BIN = fileURLToPath(new URL('../../../apps/registry/bin/sigil-registry.js', import.meta.url));

/**
 * On PostgreSQL the registry makes no keys of its own: this makes them once in `<dataDir>/keys`,
 * as an operator would (`sigil-registry keys init`), unless they are there.
 */
export async function provisionRegistryKeys(dataDir: string): Promise<void> {
  if (!existsSync(join(dataDir, 'keys', 'status.key'))) await promisify(execFile)(process.execPath, [BIN, 'keys', 'init', join(dataDir, 'keys')]);
}

/** Starts the real registry (`node apps/registry/bin/sigil-registry.js`) on 127.0.0.1 and a free port. */
export async function startRegistry(options: { dataDir?: string; env?: NodeJS.ProcessEnv; port?: number } = {}): Promise<RegistryProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sigil-registry-'));
  const port = options.port ?? (await freePort());
  const adminToken = 'test-admin-token-0123456789abcdef';
  const bin = BIN;
  // On PostgreSQL, keys made once in the data directory unless the test gives its own.
  const env = options.env ?? {};
  if (env.SIGIL_DATABASE_URL && !env.SIGIL_STATUS_KEY && !env.SIGIL_STATUS_KEY_FILE) await provisionRegistryKeys(dataDir);
  // One process per test on PostgreSQL counts rate limits alone unless the test shares them in Redis.
  const store = env.SIGIL_DATABASE_URL && !env.SIGIL_REDIS_URL ? { SIGIL_RATE_LIMIT_STORE: 'local' } : {};
  const child = spawn(process.execPath, [bin], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), SIGIL_DATA_DIR: dataDir, SIGIL_BOOTSTRAP_TOKEN: adminToken, SIGIL_LOG_LEVEL: 'warn', ...store, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the registry exited: ${stderr}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir,
    adminToken,
    child,
    stdout: () => stdout,
    sigil: (args, token, opts = {}) => runSigil(args, { ...(opts.cwd ? { cwd: opts.cwd } : {}), env: { SIGIL_REGISTRY: url, SIGIL_TOKEN: token ?? '', ...opts.env } }),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
