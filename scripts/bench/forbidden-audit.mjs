#!/usr/bin/env node
// What a flood of refused-role requests (403) by a valid token costs the registry: the audit
// events and database bytes it leaves behind, and the registry's CPU per request beside the same
// token's allowed requests in the same run (CPU time from /proc, so neighbours' load does not
// skew it). Run under `strace -f -c -e trace=fsync,fdatasync` for the commits it forces.
// Usage: node scripts/bench/forbidden-audit.mjs [requests per run, default 2000] [concurrency, default 16]
import { readFileSync } from 'node:fs';
import { ADMIN as admin, startRegistry } from './lib/registry-process.mjs';

const total = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 16);
const { base, pid, auditEvents: auditHead, dbBytes } = await startRegistry({ prefix: 'forbidden', portBase: 22000 });

const created = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ principal: 'flooder', role: 'reader' }) });
const reader = (await created.json()).token;
const ticks = () => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
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
