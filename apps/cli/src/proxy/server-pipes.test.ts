import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, readdirSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverPipes } from './server-pipes.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-pipes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` with environment variables set, restoring them after (os.tmpdir() reads TMPDIR per call). */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

describe('when FIFOs can be made', () => {
  it('gives two distinct FIFOs, leaves nothing on disk, and carries bytes both ways through a child', { timeout: 20_000 }, async () => {
    const tmp = mkdtempSync(join(dir, 'ok-'));
    const pipes = await withEnv({ TMPDIR: tmp }, () => serverPipes());
    expect(pipes).toBeDefined();
    const p = pipes!;
    const stats = [p.childIn, p.childOut, p.toServer, p.fromServer].map((fd) => fstatSync(fd));
    expect(stats.every((s) => s.isFIFO())).toBe(true);
    expect(stats[0]!.ino).toBe(stats[2]!.ino);
    expect(stats[1]!.ino).toBe(stats[3]!.ino);
    expect(stats[0]!.ino).not.toBe(stats[1]!.ino);
    // Unlinked at once, folder and all.
    expect(readdirSync(tmp)).toEqual([]);
    expect(stats.every((s) => s.nlink === 0)).toBe(true);
    // A child that echoes its stdin to its stdout, given the server's ends.
    const child = spawn(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], { stdio: [p.childIn, p.childOut, 'inherit'] });
    const closed = new Promise((r) => child.on('close', r));
    p.release();
    expect(isOpen(p.childIn) || isOpen(p.childOut)).toBe(false);
    writeSync(p.toServer, 'ping\n');
    closeSync(p.toServer);
    const got: Buffer[] = [];
    const buffer = Buffer.alloc(64);
    // The read end is non-blocking: poll until the child's end closes (read gives 0 bytes: EOF).
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      let n: number;
      try {
        n = readSync(p.fromServer, buffer);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      if (n === 0) break;
      got.push(Buffer.from(buffer.subarray(0, n)));
    }
    expect(Buffer.concat(got).toString()).toBe('ping\n');
    expect(await closed).toBe(0);
    closeSync(p.fromServer);
  });

  it('closes every end it still holds', async () => {
    const pipes = (await serverPipes())!;
    const fds = [pipes.childIn, pipes.childOut, pipes.toServer, pipes.fromServer];
    pipes.close();
    expect(fds.filter(isOpen)).toEqual([]);
    pipes.close(); // twice is harmless
  });
});

describe('when FIFOs cannot be made', () => {
  it('gives undefined when the temporary folder does not exist, and the caller keeps socket pairs', async () => {
    expect(await withEnv({ TMPDIR: join(dir, 'missing') }, () => serverPipes())).toBeUndefined();
  });

  it('gives undefined, and leaves no folder behind, when there is no mkfifo', async () => {
    const tmp = mkdtempSync(join(dir, 'nomkfifo-'));
    expect(await withEnv({ TMPDIR: tmp }, () => serverPipes({ mkfifo: [join(dir, 'no-such-mkfifo')] }))).toBeUndefined();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('gives undefined at its deadline when mkfifo hangs, and leaves no folder behind', async () => {
    const tmp = mkdtempSync(join(dir, 'slow-'));
    const slow = join(dir, 'slow-mkfifo');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const started = Date.now();
    expect(await withEnv({ TMPDIR: tmp }, () => serverPipes({ mkfifo: [slow], deadlineMs: 300 }))).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5000);
    // The hung mkfifo is killed at the same deadline and its folder removed.
    for (let i = 0; i < 50 && readdirSync(tmp).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses FIFOs that a substitute mkfifo made another way (a regular file is not a FIFO)', async () => {
    const tmp = mkdtempSync(join(dir, 'fake-'));
    const fake = join(dir, 'fake-mkfifo');
    // Called as mkfifo -m 600 -- <in> <out>: makes plain files instead.
    writeFileSync(fake, '#!/bin/sh\nshift 3\nfor f in "$@"; do : > "$f"; done\n', { mode: 0o755 });
    expect(await withEnv({ TMPDIR: tmp }, () => serverPipes({ mkfifo: [fake] }))).toBeUndefined();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses a FIFO that is a symbolic link (opened with O_NOFOLLOW)', async () => {
    const tmp = mkdtempSync(join(dir, 'link-'));
    const target = join(dir, 'elsewhere');
    const linking = join(dir, 'link-mkfifo');
    // A real FIFO elsewhere, and symbolic links to it where the FIFOs are expected.
    writeFileSync(linking, `#!/bin/sh\nshift 3\nfor f in "$@"; do /usr/bin/mkfifo "${target}-$(basename "$f")" && ln -s "${target}-$(basename "$f")" "$f"; done\n`, { mode: 0o755 });
    expect(await withEnv({ TMPDIR: tmp }, () => serverPipes({ mkfifo: [linking] }))).toBeUndefined();
    expect(readdirSync(tmp)).toEqual([]);
  });
});
