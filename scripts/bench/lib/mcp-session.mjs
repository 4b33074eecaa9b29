// What the `sigil run` benches (guard.mjs, guard-ab.mjs) share: an MCP session over a child's
// stdio, and the CPU time a process has used (Linux /proc).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** One MCP session over a child's stdio, with requests matched to answers by id. */
export function session(command, args, cwd) {
  const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '' } });
  const waiting = new Map();
  let buffered = '';
  let seq = 0;
  child.stdout.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const m = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      const done = waiting.get(m.id);
      if (done) {
        waiting.delete(m.id);
        done(m);
      }
    }
  });
  const request = (method, params) =>
    new Promise((resolve) => {
      const id = ++seq;
      waiting.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  return {
    pid: child.pid,
    request,
    open: async () => {
      const init = await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
      if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    },
    close: () => new Promise((resolve) => {
      child.on('close', resolve);
      child.stdin.end();
    }),
  };
}

/** CPU time (ns) a process has run so far, every thread summed (schedstat's first field). */
export function cpuNs(pid) {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) try { ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  return ns;
}
