#!/usr/bin/env node
// What a flood of bad tokens costs the registry (issue 11, item 2): requests per second with an
// unknown token beside the same requests with a valid token in the same run, and how many audit
// events and bytes of database the flood leaves behind (it should be none).
// Usage: node scripts/bench/auth-failures.mjs [requests per run, default 3000] [concurrency, default 16]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 16);
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-auth-'));
const admin = 'bench-admin-token-0123456789abcdef';
const port = 20000 + Math.floor(Math.random() * 2000);
const base = `http://127.0.0.1:${port}`;
const registry = spawn(process.execPath, ['apps/registry/bin/sigil-registry.js'], {
  env: { ...process.env, PORT: String(port), SIGIL_DATA_DIR: join(work, 'data'), SIGIL_BOOTSTRAP_TOKEN: admin, SIGIL_LOG_LEVEL: 'silent', SIGIL_RATE_LIMIT_TOKEN: '1000000', SIGIL_RATE_LIMIT_ADDRESS: '1000000' },
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

const auditHead = async () => ((await (await fetch(`${base}/v1/audit/verify`, { headers: { authorization: `Bearer ${admin}` } })).json()).events);
const dbBytes = () => ['registry.db', 'registry.db-wal'].reduce((n, f) => n + (statSync(join(work, 'data', f), { throwIfNoEntry: false })?.size ?? 0), 0);

async function run(token, expect) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const res = await fetch(`${base}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        if (res.status !== expect) throw new Error(`expected ${expect}, got ${res.status}`);
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

await run(admin, 200); // warm-up
const good = await run(admin, 200);
const eventsBefore = await auditHead();
const bytesBefore = dbBytes();
const bad = await run('sigil_0000000000000000_not-a-token-at-all-0000000000', 401);
const eventsAfter = await auditHead();
const bytesAfter = dbBytes();
console.log(`valid token:   ${good.toFixed(0)} req/s`);
console.log(`unknown token: ${bad.toFixed(0)} req/s (ratio ${(bad / good).toFixed(2)} of the valid-token rate)`);
console.log(`audit events written by ${total} failures: ${eventsAfter - eventsBefore}; database growth: ${bytesAfter - bytesBefore} bytes`);
process.exit(0);
