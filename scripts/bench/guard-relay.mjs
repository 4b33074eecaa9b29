#!/usr/bin/env node
// The floor for scripts/bench/guard.mjs: one more Node process between host and server that only
// relays newline-delimited messages, unparsed and unchecked, with the same per-tick write joining
// as `sigil run`. What `sigil run` costs beyond this row is the firewall's own work; this row's
// cost over direct is what any stdio proxy process costs on the machine. Not a security boundary.
// Usage: node scripts/bench/guard-relay.mjs <command> [args...]
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) throw new Error('usage: guard-relay.mjs <command> [args...]');
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });

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

relay(process.stdin, writer(child.stdin));
relay(child.stdout, writer(process.stdout));
process.stdin.on('end', () => child.stdin.end());
child.stdin.on('error', () => undefined);
child.on('close', (code) => process.exit(code ?? 1));
