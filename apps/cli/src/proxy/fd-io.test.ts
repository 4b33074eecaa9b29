import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { adoptReader, batchedWriter, streamFd } from './fd-io.js';

// A reader that waits before reading, so the pipe fills and the writer's direct writes meet EAGAIN
// and partial writes; then it reads everything and prints the byte count and digest of what came.
const SLOW_READER = `
setTimeout(() => {
  const hash = require('node:crypto').createHash('sha256');
  let bytes = 0;
  process.stdin.on('data', (c) => { bytes += c.length; hash.update(c); });
  process.stdin.on('end', () => process.stdout.write(JSON.stringify({ bytes, digest: hash.digest('hex') })));
}, 300);`;

describe('batchedWriter over a child process pipe, written directly', () => {
  it('keeps every byte in order when the pipe fills, and reports the stream full', async () => {
    const child = spawn(process.execPath, ['-e', SLOW_READER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const fd = streamFd(child.stdin);
    expect(fd).toBeTypeOf('number');
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const closed = new Promise((resolve) => child.on('close', resolve));
    const fullness: boolean[] = [];
    const writer = batchedWriter(child.stdin, (full) => fullness.push(full), fd);
    const hash = createHash('sha256');
    let bytes = 0;
    // About 1.6 MiB over 500 ticks (a socket pair holds a few hundred KiB), with multi-byte characters (a partial write may end inside one).
    for (let tick = 0; tick < 500; tick++) {
      for (let k = 0; k < 8; k++) {
        const line = `{"n":${tick * 8 + k},"text":"${'é€😀'.repeat(40)}${'x'.repeat(k * 7)}"}`;
        writer.line(line);
        hash.update(`${line}\n`);
        bytes += Buffer.byteLength(line) + 1;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    writer.flush();
    child.stdin.end();
    await closed;
    expect(JSON.parse(out)).toEqual({ bytes, digest: hash.digest('hex') });
    // The pipe filled: the writer went through the stream and said so (backpressure).
    expect(fullness[0]).toBe(true);
  }, 60_000);
});

// A writer of about 2 MiB in lines of multi-byte characters (more than a socket pair holds, so it
// blocks while the reader is paused), that prints the digest of what it wrote on stderr and exits 3.
const BIG_WRITER = `
const hash = require('node:crypto').createHash('sha256');
let n = 0;
const next = () => {
  while (n < 4000) {
    const line = '{"n":' + n++ + ',"text":"' + 'é€😀'.repeat(40) + '"}\\n';
    hash.update(line);
    if (!process.stdout.write(line)) return process.stdout.once('drain', next);
  }
  process.stderr.write(hash.digest('hex'));
  process.exitCode = 3;
};
next();`;

describe('adoptReader over a child process stdout', () => {
  it('hands over every byte in order, across a pause, and closes after the child exits', async () => {
    const child = spawn(process.execPath, ['-e', BIG_WRITER], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let chunks = 0;
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const reader = adoptReader(child.stdout, (chunk) => {
      hash.update(chunk);
      chunks++;
    });
    expect(reader).toBeDefined();
    // The child's stream gave its handle away: it reads nothing any more.
    expect(child.stdout.destroyed).toBe(true);
    reader!.pause();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(chunks).toBe(0);
    reader!.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((resolve) => reader!.on('close', resolve));
    expect(await exited).toBe(3);
    expect(hash.digest('hex')).toBe(stderr);
    expect(chunks).toBeGreaterThan(1);
  }, 60_000);

  it('leaves a stream without a pipe handle to be read as a stream', () => {
    const stream = new PassThrough();
    expect(adoptReader(stream, () => undefined)).toBeUndefined();
    expect(stream.destroyed).toBe(false);
  });
});
