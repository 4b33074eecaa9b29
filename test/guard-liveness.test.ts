import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHostWorld, sigilBin, type HostWorld } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerTo, fixtureTools, hostileServer, initialize, rssMb, sharedSocketHost, initialized, pinnedManifest, rawHost, type LogReader, type Message, type RawHost } from './fixtures/guard/harness.js';


// `sigil run` stays alive and bounded whatever its peers do with their ends (a fourth red-team
// round, on resources and liveness): a host that drops the log or resets a shared socket, a host
// that never reads, a server that leaves helpers behind or keeps the firewall logging.
const root = mkdtempSync(join(tmpdir(), 'sigil-guard-live-'));
const pidfiles: string[] = [];
const NAME = 'io.github.acme/hostile';
let world: HostWorld;
let seq = 0;

beforeAll(async () => {
  world = await buildHostWorld(join(root, 'world'), [pinnedManifest()]);
});
afterAll(() => {
  for (const file of pidfiles) {
    if (!existsSync(file)) continue;
    try {
      process.kill(Number(readFileSync(file, 'utf8')), 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  rmSync(root, { recursive: true, force: true });
});

const hostile = (script: Record<string, unknown>, logReader: LogReader = 'keep'): RawHost => rawHost(world.dir, NAME, [process.execPath, hostileServer], { HOSTILE: JSON.stringify(script) }, logReader);
const errorCode = (m: Message): string | undefined => m.error?.data?.code;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function open(h: RawHost): Promise<void> {
  h.send(initialize(0));
  expect((await h.waitFor(answerTo(0))).result).toBeDefined();
  h.send(initialized);
}

describe('when the host closes its end of the log', () => {
  it('goes on without it: a log line that cannot be written is lost, not a crash', async () => {
    const h = hostile({}, 'closed');
    await open(h);
    // A refused call is logged (sigil.run.refused-call): the write fails with EPIPE.
    h.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'evil', arguments: {} } });
    expect(errorCode(await h.waitFor(answerTo(1)))).toBe('TOOL_NOT_PINNED');
    for (let i = 2; i < 200; i++) h.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'evil', arguments: {} } });
    await h.waitFor(answerTo(199));
    h.send({ jsonrpc: '2.0', id: 200, method: 'tools/call', params: { name: 'echo', arguments: { message: 'still here' } } });
    expect((await h.waitFor(answerTo(200))).result).toBeDefined();
    h.close();
    expect(await h.exit).toBe(0);
  });
});

describe('when the host shares one socket for stdin and stdout and resets it', () => {
  it('ends the session as when the host leaves, with the server stopped and its status', async () => {
    // A Python host (Node cannot hand a socket pair to a child as its stdio): one socket as stdin
    // and stdout, a call the server never answers, then closed unread, which resets it.
    const pidfile = join(root, `server-${++seq}.pid`);
    pidfiles.push(pidfile);
    const out = await new Promise<string>((resolve, reject) => {
      const py = spawn('python3', [sharedSocketHost, sigilBin(), world.dir, NAME, hostileServer, pidfile], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      py.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
      py.on('error', reject);
      py.on('close', () => resolve(text));
    });
    // Not a crash (1, an uncaught ECONNRESET): the server is stopped (SIGTERM: 143).
    expect(JSON.parse(out)).toEqual({ status: 143, serverGone: true, reset: false });
  }, 30_000);
});

describe('when the server leaves processes in its group', () => {
  it('stops them with the session, SIGKILL for one that ignores SIGTERM', async () => {
    const pidfile = join(root, `helper-${++seq}.pid`);
    pidfiles.push(pidfile);
    const h = hostile({ on: { ping: [`#helper:${pidfile}`, '#honest'] } });
    await open(h);
    h.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.waitFor(answerTo(1));
    const helper = Number(readFileSync(pidfile, 'utf8'));
    expect(alive(helper)).toBe(true);
    h.close();
    // The server exits 0 as its stdin ends; the session's end stops what it left behind (SIGKILL
    // sent as sigil run exits; the kernel may take a moment to end the process).
    expect(await h.exit).toBe(0);
    for (let i = 0; i < 40 && alive(helper); i++) await sleep(50);
    expect(alive(helper)).toBe(false);
  }, 30_000);
});

describe('when a server keeps the firewall logging and the host does not read the log', () => {
  it('counts the repeated events instead of holding their lines, and says how many once the log drains', async () => {
    // Every listing the proxy asks for is followed by a tools/list_changed: re-check after re-check,
    // each logged (sigil.run.recheck).
    const notice = '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}';
    const received = join(root, `received-${++seq}.log`);
    const h = rawHost(world.dir, NAME, [process.execPath, hostileServer], { HOSTILE: JSON.stringify({ on: { 'tools/list': ['#honest', notice] } }), RECEIVED_LOG: received }, 'held');
    await open(h);
    // Until 12,000 listings were asked for (about 1.8 MB of re-check lines, past the pipe and the
    // 1 MiB the log may hold), not for a fixed time: on a loaded machine 4 s made too few.
    const listings = (): number => (existsSync(received) ? readFileSync(received, 'utf8').split('"tools/list"').length - 1 : 0);
    for (let i = 0; i < 300 && listings() < 12_000; i++) await sleep(100);
    h.resumeLogs();
    let skipped: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100 && skipped.length === 0; i++) {
      await sleep(100);
      skipped = h.logs().filter((e) => e.event === 'sigil.run.log-skipped');
    }
    // Thousands of re-checks went unlogged while about 1 MiB of log waited.
    expect(skipped[0]?.count).toBeGreaterThan(1000);
    h.close();
    await h.exit;
  }, 30_000);
});

describe('when the server floods its stderr, then exits while the log waits for its reader', () => {
  it('logs its last lines once the log drains, rather than closing its stderr unread', async () => {
    // 65,536 one-character lines, two pipe reads of 64 KiB, are about 8 MB of log: the server
    // writes them and exits as soon as its pipe took them, its last line (a crash message, say)
    // still in the pipe. (Not '#exit': under load Node's process.exit dropped the last words
    // before they reached the pipe, as a server that exits so would.)
    const h = hostile({ on: { 'tools/call': ['#stderrlines:32768', '#stderrlines:32768', '#stderr:the last words\n', '#flushexit:3'] } }, 'held');
    await open(h);
    h.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } });
    // Past the second for which the server's stdout and stderr are read after it exits; then read
    // slowly (about 330 kB/s, some 25 s for this log), as a host on a loaded machine may: the
    // server's stderr waits for the log more than 10 s at a time, with nothing read from the
    // server meanwhile, but the log moves all along (byte by byte, though Node's stream counts
    // its 4 MB write as waiting until the whole of it is written). In CI, under load, a fixed
    // 10 s in all lost the last 1,728 lines; here, without telling a slow log from a stopped one,
    // the last words.
    await sleep(2500);
    h.resumeLogs(200);
    expect(errorCode(await h.waitFor(answerTo(1), 50_000))).toBe('SERVER_UNREACHABLE');
    expect(await h.exit).toBe(3);
    const logs = h.logs();
    expect(logs.filter((e) => e.event === 'sigil.run.server-stderr' && e.text === 'x')).toHaveLength(2 * 32768);
    expect(logs.filter((e) => e.event === 'sigil.run.server-stderr' && e.text === 'the last words')).toHaveLength(1);
    expect(logs.find((e) => e.event === 'sigil.run.server-exit')).toMatchObject({ code: 3 });
  }, 60_000);

  it('closes it 1 s after the exit once the log caught up, though something the server left running writes on', async () => {
    // The log backed up once, early on; the server then exits, leaving a process that writes a
    // line to its stderr every 100 ms: once the log has caught up, that is no reason to wait.
    const pidfile = join(root, `ticker-${++seq}.pid`);
    const h = hostile({ on: { 'tools/call#1': ['#stderrlines:20000', '#honest'], 'tools/call#2': [`#ticker:${pidfile}`, '#exit:3'] } }, 'held');
    try {
      await open(h);
      h.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'a' } } });
      await h.waitFor(answerTo(1));
      await sleep(1500);
      h.resumeLogs();
      for (let i = 0; i < 100 && h.logs().filter((e) => e.text === 'x').length < 20_000; i++) await sleep(100);
      const started = Date.now();
      h.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'b' } } });
      expect(errorCode(await h.waitFor(answerTo(2), 20_000))).toBe('SERVER_UNREACHABLE');
      expect(await h.exit).toBe(3);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(h.logs().filter((e) => e.event === 'sigil.run.server-stderr' && e.text === 'x')).toHaveLength(20_000);
    } finally {
      if (existsSync(pidfile)) {
        try {
          process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL');
        } catch {
          // stopped with the session, as it should be
        }
      }
    }
  }, 40_000);

  it('closes it unread 10 s after the server exited when the log is never read', async () => {
    const h = hostile({ on: { 'tools/call': [...Array.from({ length: 4 }, () => '#stderrlines:20000'), '#exit:3'] } }, 'held');
    await open(h);
    const started = Date.now();
    h.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } });
    expect(errorCode(await h.waitFor(answerTo(1), 20_000))).toBe('SERVER_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(15_000);
    h.close();
    h.resumeLogs();
    expect(await h.exit).toBe(3);
  }, 30_000);
});

describe('when the server is refused before the session starts and the host never reads', () => {
  /** `sigil run` for a name the lockfile does not hold (refused before any server starts), its answers never read. */
  const refusedHostNeverReading = () => {
    const child = spawn(process.execPath, [sigilBin(), 'run', 'io.github.acme/not-locked', '--offline', '--', process.execPath, hostileServer], { cwd: world.dir, env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdout.pause();
    child.stdin.on('error', () => undefined);
    return { child, exit: new Promise<number | null>((r) => child.on('close', (code) => r(code))) };
  };

  it('answers without holding more than its pipe can take, and ends after 10 s all the same', async () => {
    // Each request is answered with the refusal code.
    const { child, exit } = refusedHostNeverReading();
    const started = Date.now();
    const line = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x' })}\n`.repeat(10_000);
    let peak = 0;
    let ended = false;
    void exit.then(() => (ended = true));
    for (let i = 0; i < 40 && !ended; i++) {
      child.stdin.write(line);
      await sleep(100);
      if (!ended) peak = Math.max(peak, rssMb(child.pid!));
    }
    expect(peak).toBeLessThan(200);
    expect(await exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it('ends after 10 s also when the host closed its input without reading the answers', async () => {
    const { child, exit } = refusedHostNeverReading();
    const started = Date.now();
    // About 2 MB of answers, far more than the pipe holds, then the host's input ends.
    child.stdin.end(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x' })}\n`.repeat(10_000));
    expect(await exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

describe('when the host writes its whole session and closes its input before the check ends', () => {
  // A script host (`printf … | sigil run …`): its input ends while its requests still wait for the
  // tools check. The server's input ends only after they went to it, as with the server directly.
  const oneShot = (script: Record<string, unknown>): RawHost => {
    const h = hostile(script);
    h.send(initialize(0));
    h.send(initialized);
    h.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    h.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'once' } } });
    h.close();
    return h;
  };

  it('answers every request, then ends with the server and its status', async () => {
    const h = oneShot({ exitOnEof: 7 });
    expect((await h.waitFor(answerTo(0))).result).toBeDefined();
    const listed = await h.waitFor(answerTo(1));
    expect(listed.error).toBeUndefined();
    expect((listed.result as { tools: unknown[] }).tools.length).toBeGreaterThan(0);
    const called = await h.waitFor(answerTo(2));
    expect(called.error).toBeUndefined();
    expect(JSON.stringify(called.result)).toContain('once');
    expect(await h.exit).toBe(7);
  });

  it('still refuses a drifted server, with exit status 1', async () => {
    const h = oneShot({ tools: [...fixtureTools, { name: 'evil', description: 'not pinned', inputSchema: { type: 'object' } }] });
    expect(errorCode(await h.waitFor(answerTo(1)))).toBe('TOOL_DRIFT');
    expect(errorCode(await h.waitFor(answerTo(2)))).toBe('TOOL_DRIFT');
    expect(await h.exit).toBe(1);
    // A tool the pin lacks, and nothing else: the log says what a capability-dependent server needs.
    const refused = h.logs().find((l) => l.event === 'sigil.run.refused');
    expect(refused).toMatchObject({ code: 'TOOL_DRIFT' });
    expect(String(refused?.reason)).toContain('evil');
    expect(refused?.hint).toContain('sigil manifest init --capable-host');
  });
});
