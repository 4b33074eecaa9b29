#!/usr/bin/env node
// What a flood of bad tokens costs the registry (issue 11, item 2): requests per second with an
// unknown token beside the same requests with a valid token in the same run, and how many audit
// events and bytes of database the flood leaves behind (it should be none).
// Usage: node scripts/bench/auth-failures.mjs [requests per run, default 3000] [concurrency, default 16]
import { ADMIN as admin, startRegistry } from './lib/registry-process.mjs';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 16);
const { base, auditEvents: auditHead, dbBytes } = await startRegistry({ prefix: 'auth', portBase: 20000 });

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
