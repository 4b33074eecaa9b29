import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batchedWriter, streamFd } from './fd-io.js';

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
        const line = `{"n":${tick * 8 + k},"text":"${'é€😀'.repeat(40)}${'x'.repeat(k * 7)}"}\n`;
        writer.write(line);
        hash.update(line);
        bytes += Buffer.byteLength(line);
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
