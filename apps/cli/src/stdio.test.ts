import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { fdSink } from './stdio.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-stdio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stream that keeps what it is given (the process stream fdSink falls back to). */
function keeping(isTTY = false): NodeJS.WriteStream & { text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return Object.assign(stream, { isTTY, text: () => Buffer.concat(chunks).toString('utf8') }) as unknown as NodeJS.WriteStream & { text: () => string };
}

describe('fdSink', () => {
  it('writes each text whole to the descriptor before returning, without making the stream', () => {
    const file = join(dir, 'out.txt');
    const fd = openSync(file, 'w');
    let made = 0;
    const sink = fdSink(fd, () => {
      made++;
      return keeping();
    });
    sink.write('ok io.github.acme/notes@1.0.0\n');
    sink.write('résumé ✓ 日本\n');
    expect(readFileSync(file, 'utf8')).toBe('ok io.github.acme/notes@1.0.0\nrésumé ✓ 日本\n');
    expect(made).toBe(0);
    closeSync(fd);
  });

  it('goes on through the stream, in order, once the descriptor refuses a write', () => {
    const file = join(dir, 'closed.txt');
    const fd = openSync(file, 'w');
    closeSync(fd);
    const stream = keeping();
    const sink = fdSink(fd, () => stream);
    sink.write('first\n');
    sink.write('second\n');
    expect(stream.text()).toBe('first\nsecond\n');
  });

  it('answers whether it is a terminal from the stream, when asked', () => {
    let made = 0;
    const sink = fdSink(1, () => {
      made++;
      return keeping(true);
    });
    expect(made).toBe(0);
    expect(sink.isTTY).toBe(true);
    expect(made).toBe(1);
  });
});
