import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withStoreLock } from './store-lock.js';

const root = mkdtempSync(join(tmpdir(), 'sigil-store-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `store-${n++}`);

describe('withStoreLock', () => {
  it('runs one section at a time, and leaves no lock behind', async () => {
    const dir = fresh();
    const order: string[] = [];
    const section = (label: string) => async () => {
      order.push(`${label} in`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      order.push(`${label} out`);
    };
    await Promise.all([withStoreLock(dir, 'status.lock', section('a')), withStoreLock(dir, 'status.lock', section('b'))]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(existsSync(join(dir, 'status.lock'))).toBe(false);
  });

  it('removes a lock dated far in the future (planted, or left across a clock change) after the stale age, instead of waiting for it forever', async () => {
    const dir = fresh();
    await withStoreLock(dir, 'status.lock', async () => undefined);
    writeFileSync(join(dir, 'status.lock'), 'someone-else', { mode: 0o600 });
    const tenYears = Date.now() / 1000 + 10 * 365 * 86400;
    utimesSync(join(dir, 'status.lock'), tenYears, tenYears);
    const started = performance.now();
    expect(await withStoreLock(dir, 'status.lock', async () => 'ran', 300)).toBe('ran');
    // Not at once (a share whose clock runs ahead dates live locks in the future too): after the stale age.
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("removes a lock whose holder this process has seen for longer than the stale age, whatever its date says", async () => {
    const dir = fresh();
    await withStoreLock(dir, 'status.lock', async () => undefined);
    writeFileSync(join(dir, 'status.lock'), 'a-dead-holder', { mode: 0o600 });
    // Touched all along, as if its date kept moving: only this process's own clock ages it.
    const touch = setInterval(() => utimesSync(join(dir, 'status.lock'), new Date(), new Date()), 20);
    try {
      expect(await withStoreLock(dir, 'status.lock', async () => readFileSync(join(dir, 'status.lock'), 'utf8'), 300)).not.toBe('a-dead-holder');
    } finally {
      clearInterval(touch);
    }
  });

  it.each([
    ['dated now', 0],
    // A file system whose clock runs ahead of this one (a network share) dates a live lock ahead.
    ['dated two minutes ahead', 120],
  ])("waits for a live holder's lock %s until it is released, and never removes it", async (_label, aheadSeconds) => {
    const dir = fresh();
    let release!: () => void;
    const holding = withStoreLock(dir, 'status.lock', () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (aheadSeconds > 0) utimesSync(join(dir, 'status.lock'), Date.now() / 1000 + aheadSeconds, Date.now() / 1000 + aheadSeconds);
    const held = readFileSync(join(dir, 'status.lock'), 'utf8');
    let ran = false;
    const waiting = withStoreLock(dir, 'status.lock', async () => {
      ran = true;
    }, 2_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ran).toBe(false);
    expect(readFileSync(join(dir, 'status.lock'), 'utf8')).toBe(held);
    release();
    await holding;
    await waiting;
    expect(ran).toBe(true);
  });
});
