#!/usr/bin/env node
// The floor for scripts/bench/guard.mjs: one more Node process between host and server that only
// relays newline-delimited messages, unparsed and unchecked, with the same per-tick write joining
// as `sigil run` and, like it, the server's stdin and stdout as FIFOs (apps/cli/src/proxy/server-pipes.ts;
// socket pairs where they cannot be made). What `sigil run` costs beyond this row is the firewall's
// own work; this row's cost over direct is what any stdio proxy process costs on the machine. Not a
// security boundary.
// Usage: node scripts/bench/guard-relay.mjs <command> [args...]
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
// The CLI's own FIFO maker, from its build (the bench needs the workspaces built; guard.mjs says so).
import { serverPipes } from '../../apps/cli/dist/proxy/server-pipes.js';

const [command, ...args] = process.argv.slice(2);
if (!command) throw new Error('usage: guard-relay.mjs <command> [args...]');
const pipes = await serverPipes();
const child = spawn(command, args, { stdio: pipes ? [pipes.childIn, pipes.childOut, 'inherit'] : ['pipe', 'pipe', 'inherit'] });
pipes?.release();
const toChild = pipes ? new Socket({ fd: pipes.toServer, readable: false, writable: true }) : child.stdin;
const fromChild = pipes ? new Socket({ fd: pipes.fromServer, readable: true, writable: false }) : child.stdout;

/** Joins what one tick writes into one write, as sigil run's writer does. */
function writer(stream) {
  let queued = [];
  const flush = () => {
    const text = queued.length === 1 ? queued[0] : queued.join('');
    queued = [];
    stream.write(text);
  };
  return (text) => {
    if (queued.push(text) === 1) process.nextTick(flush);
  };
}

/** Forwards whole lines only (a partial line waits for its end), as any message proxy must. */
function relay(from, write) {
  let rest = '';
  from.on('data', (chunk) => {
    const text = rest + chunk.toString('utf8');
    const end = text.lastIndexOf('\n') + 1;
    rest = text.slice(end);
    if (end > 0) write(text.slice(0, end));
  });
}

relay(process.stdin, writer(toChild));
relay(fromChild, writer(process.stdout));
process.stdin.on('end', () => toChild.end());
toChild.on('error', () => undefined);
// The FIFO's end is this process's own: the session is over when the server exited and its stdout ended.
let code;
let ended = !pipes;
const done = () => code !== undefined && ended && process.exit(code);
fromChild.on('close', () => {
  ended = true;
  done();
});
child.on('close', (c) => {
  code = c ?? 1;
  done();
});
