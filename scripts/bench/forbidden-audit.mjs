#!/usr/bin/env node
// What a flood of refused-role requests (403) by a valid token costs the registry: the audit
// events and database bytes it leaves behind, and the registry's CPU per request beside the same
// token's allowed requests in the same run (CPU time from /proc, so neighbours' load does not
// skew it). Run under `strace -f -c -e trace=fsync,fdatasync` for the commits it forces.
// Usage: node scripts/bench/forbidden-audit.mjs [requests per run, default 2000] [concurrency, default 16]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const total = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 16);
const work = mkdtempSync(join(tmpdir(), 'sigil-bench-forbidden-'));
const admin = 'bench-admin-token-0123456789abcdef';
const port = 22000 + Math.floor(Math.random() * 2000);
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

const created = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ principal: 'flooder', role: 'reader' }) });
const reader = (await created.json()).token;
const auditHead = async () => (await (await fetch(`${base}/v1/audit/verify`, { headers: { authorization: `Bearer ${admin}` } })).json()).events;
const dbBytes = () => ['registry.db', 'registry.db-wal'].reduce((n, f) => n + (statSync(join(work, 'data', f), { throwIfNoEntry: false })?.size ?? 0), 0);
const ticks = () => {
  const fields = readFileSync(`/proc/${registry.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, clock ticks (100 per second)
};

async function run(path, expect) {
  let next = 0;
  const before = ticks();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${reader}` } });
        await res.arrayBuffer();
        if (res.status !== expect) throw new Error(`${path}: expected ${expect}, got ${res.status}`);
      }
    }),
  );
  return ((ticks() - before) * 10_000) / total; // µs of registry CPU per request
}

await run('/v1/whoami', 200); // warm-up
const allowed = await run('/v1/whoami', 200);
const eventsBefore = await auditHead();
const bytesBefore = dbBytes();
const refused = await run('/v1/tokens', 403);
const eventsAfter = await auditHead();
const bytesAfter = dbBytes();
console.log(`allowed (GET /v1/whoami, reader): ${allowed.toFixed(0)} µs registry CPU per request`);
console.log(`refused (GET /v1/tokens, reader): ${refused.toFixed(0)} µs registry CPU per request (${(refused / allowed).toFixed(2)}x)`);
console.log(`audit events written by ${total} refusals: ${eventsAfter - eventsBefore}; database growth: ${bytesAfter - bytesBefore} bytes`);
process.exit(0);
