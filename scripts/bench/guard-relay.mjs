#!/usr/bin/env node
// The floor for scripts/bench/guard.mjs: one more Node process between host and server that only
// relays newline-delimited messages, unchecked, through exactly the I/O `sigil run` uses (the CLI's
// own modules, from its build: apps/cli/src/proxy/fd-io.ts, lines.ts, server-pipes.ts, message.ts):
// the host's pipe read into one reused buffer, the server's stdin and stdout as FIFOs (socket pairs
// where they cannot be made), each read chunk split into lines with the same size bound and decoded
// by the same strict UTF-8 decoder, and each chunk's lines joined into one write(2) per peer. So its
// row is `sigil run` without the firewall: what `sigil run` costs beyond it is the firewall's own
// work (parse, checks, id mapping), and what it costs over direct is what any stdio proxy process
// built this way costs on the machine. Not a security boundary (nothing is checked; a line that is
// not UTF-8 is dropped).
// Usage: node scripts/bench/guard-relay.mjs <command> [args...]
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { adoptReader, batchedWriter, fdReader, isPipeOrSocket, streamFd } from '../../apps/cli/dist/proxy/fd-io.js';
import { MAX_MESSAGE_BYTES } from '../../apps/cli/dist/proxy/guard-proxy.js';
import { lineSplitter } from '../../apps/cli/dist/proxy/lines.js';
import { decodeLine } from '../../apps/cli/dist/proxy/message.js';
import { serverPipes } from '../../apps/cli/dist/proxy/server-pipes.js';

const [command, ...args] = process.argv.slice(2);
if (!command) throw new Error('usage: guard-relay.mjs <command> [args...]');
const pipes = await serverPipes();
const child = spawn(command, args, { stdio: pipes ? [pipes.childIn, pipes.childOut, 'inherit'] : ['pipe', 'pipe', 'inherit'] });
pipes?.release();
const serverIn = pipes ? new Socket({ fd: pipes.toServer, readable: false, writable: true }) : child.stdin;
const output = isPipeOrSocket(1) ? new Socket({ fd: 1, readable: false, writable: true }) : process.stdout;
const toHost = batchedWriter(output, () => undefined, isPipeOrSocket(1) ? 1 : undefined);
const toServer = batchedWriter(serverIn, () => undefined, pipes ? pipes.toServer : streamFd(serverIn));
const relayTo = (writer) => (line) => {
  const text = decodeLine(line);
  if (text !== undefined) writer.line(text);
};
const hostLines = lineSplitter(MAX_MESSAGE_BYTES, relayTo(toServer), () => undefined);
const serverLines = lineSplitter(MAX_MESSAGE_BYTES, relayTo(toHost), () => undefined);
/** One read chunk's lines, then one write per peer, as sigil run's chunkOf does. */
const chunkOf = (lines, chunk) => {
  toHost.hold();
  toServer.hold();
  lines.push(chunk);
  toHost.flush();
  toServer.flush();
};
const input = isPipeOrSocket(0) ? fdReader(0, (chunk) => chunkOf(hostLines, chunk)) : process.stdin.on('data', (chunk) => chunkOf(hostLines, chunk));
const fromServer = pipes ? fdReader(pipes.fromServer, (chunk) => chunkOf(serverLines, chunk)) : adoptReader(child.stdout, (chunk) => chunkOf(serverLines, chunk));
if (!fromServer) child.stdout.on('data', (chunk) => chunkOf(serverLines, chunk));
input.on('end', () => {
  toServer.flush();
  serverIn.end();
});
serverIn.on('error', () => undefined);
// The session is over when the server exited and its stdout ended (a FIFO's end, or an adopted
// handle, is this process's own; the child's 'close' does not wait for it).
let code;
let ended = !fromServer;
const done = () => {
  if (code === undefined || !ended) return;
  toHost.flush();
  process.exit(code);
};
fromServer?.on('close', () => {
  ended = true;
  done();
});
child.on('close', (c) => {
  code = c ?? 1;
  done();
});
