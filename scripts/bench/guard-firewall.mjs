#!/usr/bin/env node
// The firewall's own work per tools/call round trip, in one process with no pipes: CPU time of
// Firewall.fromHost (strict parse, checks, proxy id, re-serialisation) plus Firewall.fromServer
// (the same for the answer, back under the host's id), next to what a proxy that parses both
// messages and serialises them again pays in the same run: decode, JSON.parse and JSON.stringify of
// both. The firewall can cost less than that: a line already in JSON.stringify's exact form is
// forwarded as its own text (message.ts, wireOf), so only lines in other forms are serialised again,
// and once the firewall is open a request or a tools/call result in that form is not parsed at all
// (hot-path.ts, readHot).
// CPU time, not wall time, so a loaded machine moves it little; compare the ratio, not the µs.
// `node --no-opt scripts/bench/guard-firewall.mjs` gives the unoptimised cost, what a session pays
// before V8 has optimised the hot path (its first ~3300 round trips).
// Needs apps/cli built. Usage: node scripts/bench/guard-firewall.mjs [round trips, default 200000]
// FIREWALL_JS=<path to dist/proxy/firewall.js>: measure another build the same way.
import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { normalizeTool } from '@sigil/manifest';

const n = Number(process.argv[2] ?? 200_000);
if (!(Number.isInteger(n) && n >= 1000 && n <= 10_000_000)) throw new Error('round trips: a whole number from 1000 to 10000000');
const { Firewall } = await import(process.env.FIREWALL_JS ?? fileURLToPath(new URL('../../apps/cli/dist/proxy/firewall.js', import.meta.url)));
const tools = JSON.parse(readFileSync(new URL('../../test/fixtures/guard/tools.json', import.meta.url), 'utf8'));
const manifest = { name: 'io.github.acme/bench', description: 'Bench', version: '1.0.0', tools: tools.map((t) => normalizeTool(t).tool) };

let toServer = [];
let toHost = [];
const firewall = new Firewall({ manifest, toHost: (t) => toHost.push(t), toServer: (t) => toServer.push(t), log: () => undefined, onRefused: (code) => { throw new Error(`refused: ${code}`); }, checkTimeoutMs: 10_000 });
const bytes = (value) => Buffer.from(JSON.stringify(value));
/** Answers what the firewall sent the server, honestly, until it opens. */
async function serve() {
  for (let turn = 0; turn < 10 && firewall.state !== 'open'; turn++) {
    const sent = toServer.map((t) => JSON.parse(t));
    toServer = [];
    for (const m of sent) {
      if (m.id === undefined) continue;
      const result = m.method === 'initialize' ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bench', version: '1.0.0' } } : { tools };
      firewall.fromServer(bytes({ jsonrpc: '2.0', id: m.id, result }));
    }
    await nextTurn();
  }
  if (firewall.state !== 'open') throw new Error(`the firewall did not open (${firewall.state})`);
}
firewall.fromHost(bytes({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }));
await serve();
toHost = [];

const requests = Array.from({ length: 1000 }, (_, i) => bytes({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'echo', arguments: { message: `message ${i}` } } }));
const answer = (id, i) => Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"called echo with {\\"message\\":\\"message ${i}\\"}"}]}}`);
const decoder = new TextDecoder('utf-8', { fatal: true });

/** CPU µs per round trip of `step`. */
function cpu(step, count) {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) step(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}
const throughFirewall = (i) => {
  firewall.fromHost(requests[i % 1000]);
  const id = JSON.parse(toServer[0]).id; // what the server would read: not the firewall's cost, but the comparison below pays it too
  toServer = [];
  firewall.fromServer(answer(id, i));
  toHost = [];
};
const floor = (i) => {
  const request = JSON.parse(decoder.decode(requests[i % 1000]));
  request.id = 'proxy-id';
  const sent = JSON.stringify(request);
  const id = JSON.parse(sent).id;
  const response = JSON.parse(decoder.decode(answer(id, i)));
  JSON.stringify({ jsonrpc: '2.0', id: i, result: response.result });
};
cpu(throughFirewall, Math.min(n, 20_000)); // warm up (V8 optimises the hot path within a few thousand)
cpu(floor, Math.min(n, 20_000));
const a = [];
const b = [];
for (let r = 0; r < 5; r++) {
  a.push(cpu(throughFirewall, n / 5));
  b.push(cpu(floor, n / 5));
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`node ${process.version}; ${n} tools/call round trips in one process, 5 interleaved slices, medians`);
console.log(`firewall (fromHost + fromServer): ${median(a).toFixed(2)} CPU µs per round trip`);
console.log(`parse and serialise again (decode + parse + stringify, both ways): ${median(b).toFixed(2)} CPU µs per round trip`);
console.log(`firewall / parse and serialise again: ${(median(a) / median(b)).toFixed(2)}x`);
