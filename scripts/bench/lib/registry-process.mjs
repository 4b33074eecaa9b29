// One registry process for a bench: built from the checkout (run from its root), on a random
// loopback port, with a fresh data folder removed at exit, rate limits out of the way, and a
// known admin token; resolves once /healthz answers. Shared by auth-failures.mjs and
// forbidden-audit.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The bootstrap admin token of every bench registry started here. */
export const ADMIN = 'bench-admin-token-0123456789abcdef';

/**
 * @param {{ prefix: string, portBase: number }} options a name for the data folder and the lowest port to pick from (2,000 above it)
 * @returns {Promise<{ base: string, pid: number, auditEvents: () => Promise<number>, dbBytes: () => number }>}
 */
export async function startRegistry({ prefix, portBase }) {
  const work = mkdtempSync(join(tmpdir(), `sigil-bench-${prefix}-`));
  const port = portBase + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const registry = spawn(process.execPath, ['apps/registry/bin/sigil-registry.js'], {
    env: { ...process.env, PORT: String(port), SIGIL_DATA_DIR: join(work, 'data'), SIGIL_BOOTSTRAP_TOKEN: ADMIN, SIGIL_LOG_LEVEL: 'silent', SIGIL_RATE_LIMIT_TOKEN: '1000000', SIGIL_RATE_LIMIT_ADDRESS: '1000000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.on('exit', () => {
    registry.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 300 || registry.exitCode !== null) throw new Error('the registry did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    pid: registry.pid,
    /** Events in the audit log (GET /v1/audit/verify). */
    auditEvents: async () => (await (await fetch(`${base}/v1/audit/verify`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()).events,
    /** Bytes of the database and its write-ahead log. */
    dbBytes: () => ['registry.db', 'registry.db-wal'].reduce((n, f) => n + (statSync(join(work, 'data', f), { throwIfNoEntry: false })?.size ?? 0), 0),
  };
}
