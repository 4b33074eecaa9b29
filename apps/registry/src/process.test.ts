import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openDatabase, openStore } from '@sigil/db';
import { createTestStore, freePort, startRegistry, testDialect, type RegistryProcess, type TestStore } from '@sigil/testing';
import { afterEach, describe, expect, it } from 'vitest';

// The real registry process (apps/registry/bin/sigil-registry.js over the built dist), for what
// only a process shows: rate limits keyed on sockets, slow clients, file modes, bootstrap.

// On PostgreSQL (the 'registry (postgres)' project) each data directory gets a database of its
// own. What never touches the database (sockets, timeouts, refused configuration, log lines)
// runs once, in the SQLite project: on PostgreSQL those cases are not collected at all.
const dialect = testDialect();
const databaseFree = (name: string, fn: () => void): void => {
  if (dialect === 'sqlite') describe(name, fn);
};
const running: RegistryProcess[] = [];
const dirs: string[] = [];
const stores = new Map<string, TestStore>();
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop('SIGKILL')));
  await Promise.all([...stores.values()].map((s) => s.drop()));
  stores.clear();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});
/** The store of a data directory (the same one for every start on it). */
async function storeOf(dataDir: string): Promise<TestStore> {
  let store = stores.get(dataDir);
  if (!store) {
    store = await createTestStore(dataDir);
    stores.set(dataDir, store);
  }
  return store;
}
async function start(env: NodeJS.ProcessEnv = {}, dataDir = tempDir()): Promise<RegistryProcess> {
  const r = await startRegistry({ env: { ...(await storeOf(dataDir)).env, ...env }, dataDir });
  running.push(r);
  return r;
}
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sigil-proc-'));
  dirs.push(d);
  return d;
}
async function until429(url: string, headers: Record<string, string> = {}, max = 50): Promise<number> {
  for (let i = 1; i <= max; i++) {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status === 429) return i;
  }
  return -1;
}

describe('when a client sends X-Forwarded-For to a registry without trusted proxies', () => {
  it('keys the rate limit on its socket address, so the header buys no second allowance', async () => {
    const r = await start({ SIGIL_RATE_LIMIT_ADDRESS: '20' });
    expect(await until429(`${r.url}/healthz`, { 'x-forwarded-for': '203.0.113.1' })).toBeGreaterThan(0);
    // The same client without the header, and with another forged address: the same bucket.
    expect((await fetch(`${r.url}/healthz`)).status).toBe(429);
    const forged = await fetch(`${r.url}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.77' } });
    expect(forged.status).toBe(429);
    expect((await forged.json()) as { code: string }).toMatchObject({ code: 'RATE_LIMITED' });
  }, 40_000);
});

describe('when the registry runs behind a trusted reverse proxy', () => {
  it('keys on the right-most untrusted X-Forwarded-For hop, one bucket per client', async () => {
    const r = await start({ SIGIL_RATE_LIMIT_ADDRESS: '20', SIGIL_TRUSTED_PROXIES: '127.0.0.0/8,::1' });
    expect(await until429(`${r.url}/healthz`, { 'x-forwarded-for': '203.0.113.1' })).toBe(21);
    // Another client behind the proxy is still served; a forged left-most hop changes nothing.
    expect((await fetch(`${r.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.2' } })).status).toBe(200);
    expect((await fetch(`${r.url}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' } })).status).toBe(429);
  }, 40_000);

  it('refuses to start on a proxy entry that is not an address or CIDR', async () => {
    await expect(start({ SIGIL_TRUSTED_PROXIES: '10.0.0.0/99' })).rejects.toThrow(/CONFIG_INVALID.*SIGIL_TRUSTED_PROXIES/);
  }, 40_000);
});

databaseFree('when a client sends its headers slowly', () => {
  it('is cut at about 10 s while other clients are served', async () => {
    const r = await start();
    const port = Number(new URL(r.url).port);
    const started = Date.now();
    const slow: Socket = connect(port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => slow.once('close', () => resolve(Date.now() - started)));
    slow.on('error', () => {});
    slow.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => slow.writable && slow.write('X-Slow: 1\r\n'), 500);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
      const after = await closed;
      expect(after).toBeGreaterThan(9_000);
      expect(after).toBeLessThan(14_000);
    } finally {
      clearInterval(drip);
      slow.destroy();
    }
  }, 40_000);

  it('caps the connections one address holds open', async () => {
    const r = await start({ SIGIL_MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const port = Number(new URL(r.url).port);
    const sockets = Array.from({ length: 6 }, () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      return { s, closed: new Promise<boolean>((resolve) => s.once('close', () => resolve(true))) };
    });
    const closedSoon = await Promise.all(sockets.map((x) => Promise.race([x.closed, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_000))])));
    // Three stay open (fewer if the health check's keep-alive connection still holds one); the rest are closed at once.
    expect(closedSoon.filter((c) => !c).length).toBeLessThanOrEqual(3);
    expect(closedSoon.filter(Boolean).length).toBeGreaterThanOrEqual(3);
    sockets.forEach((x) => x.s.destroy());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
  }, 40_000);
});

describe('the data directory', () => {
  it('is created 0700, with the database files 0600 (on PostgreSQL, no database file at all)', async () => {
    const parent = tempDir();
    const dataDir = join(parent, 'data');
    const r = await start({}, dataDir);
    expect((await fetch(`${r.url}/v1/whoami`, { headers: { authorization: `Bearer ${r.adminToken}` } })).status).toBe(200);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const file of ['registry.db', 'registry.db-wal', 'registry.db-shm']) {
      expect(existsSync(join(dataDir, file))).toBe(dialect === 'sqlite');
      if (dialect === 'sqlite') expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600);
    }
  }, 40_000);

  it('is tightened when an earlier start left it readable by others', async () => {
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    if (dialect === 'sqlite') openDatabase(join(dataDir, 'registry.db')).close();
    await start({}, dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    if (dialect === 'sqlite') expect(statSync(join(dataDir, 'registry.db')).mode & 0o777).toBe(0o600);
  }, 40_000);

  it('refuses a bootstrap token under 32 characters', async () => {
    await expect(start({ SIGIL_BOOTSTRAP_TOKEN: 'short-token-0123456789abcdef' })).rejects.toThrow(/CONFIG_INVALID.*SIGIL_BOOTSTRAP_TOKEN.*32/);
  }, 40_000);
});

describe('when a bootstrap-token file already exists on an empty database', () => {
  it('refuses to start before committing any token, says what to do, and starts once it is moved', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'bootstrap-token'), 'sigil_old_token-from-an-earlier-database\n', { mode: 0o600 });
    const error = await start({ SIGIL_BOOTSTRAP_TOKEN: undefined }, dataDir).catch((e: Error) => e.message);
    expect(error).toMatch(/BOOTSTRAP_FILE_EXISTS/);
    expect(error).toMatch(/move it away/);
    const database = await openStore(await storeOf(dataDir));
    expect(await database.raw.get('select count(*) as n from tokens')).toEqual({ n: 0 });
    await database.close();

    rmSync(join(dataDir, 'bootstrap-token'));
    const r = await start({ SIGIL_BOOTSTRAP_TOKEN: undefined }, dataDir);
    const token = readFileSync(join(dataDir, 'bootstrap-token'), 'utf8').trim();
    expect(statSync(join(dataDir, 'bootstrap-token')).mode & 0o777).toBe(0o600);
    expect((await fetch(`${r.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  }, 40_000);
});

databaseFree('when a request has a Host header or target no URL can be made of', () => {
  /** One raw request on its own connection: the status line, the headers (lower-case names) and the body. */
  const send = (url: string, head: string): Promise<{ status: number; headers: Record<string, string>; body: string }> =>
    new Promise((resolve, reject) => {
      const s = connect(Number(new URL(url).port), '127.0.0.1');
      let text = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (text += d));
      s.on('error', reject);
      s.on('close', () => {
        const [top = '', body = ''] = text.split('\r\n\r\n');
        const [line = '', ...fields] = top.split('\r\n');
        const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
        resolve({ status: Number(line.split(' ')[1]), headers, body });
      });
      s.write(`${head}Connection: close\r\n\r\n`);
    });

  it('refuses it 400 BAD_REQUEST like any other refusal: a problem, a request id, the security headers', async () => {
    const r = await start();
    // The last: HTTP/1.1 without a Host at all (Node alone answered it a bare 400, before any listener).
    for (const head of ['GET /healthz HTTP/1.1\r\nHost: user@127.0.0.1\r\n', 'GET /v1/servers HTTP/1.1\r\nHost: 127.0.0.1:99999\r\n', 'GET /v1\\servers HTTP/1.1\r\nHost: 127.0.0.1:1\r\n', 'GET /healthz HTTP/1.1\r\n']) {
      const a = await send(r.url, head);
      expect([head, a.status, a.headers['content-type']]).toEqual([head, 400, 'application/problem+json']);
      expect(a.headers['x-request-id']).toMatch(/^[\w-]{36}$/);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['content-security-policy']).toBeDefined();
      expect(JSON.parse(a.body)).toMatchObject({ code: 'BAD_REQUEST', status: 400, requestId: a.headers['x-request-id'] });
    }
    // Counted with the other refusals.
    expect(await (await fetch(`${r.url}/metrics`)).text()).toMatch(/sigil_refusals_total\{code="BAD_REQUEST"\} 4/);
  }, 40_000);

  it('refuses a request Node’s HTTP parser cannot read the same way: 400 BAD_REQUEST (a chunk extension too long included), or 431 HEADERS_TOO_LARGE', async () => {
    const r = await start();
    const cases: Array<[string, number, string]> = [
      ['GET /v1/servers?search=\u00e9 HTTP/1.1\r\nHost: 127.0.0.1\r\n', 400, 'BAD_REQUEST'], // raw UTF-8 in the target
      ['GET /v1/servers/a b HTTP/1.1\r\nHost: 127.0.0.1\r\n', 400, 'BAD_REQUEST'],
      ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nbad header line\r\n', 400, 'BAD_REQUEST'],
      [`GET /v1/servers/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n`, 431, 'HEADERS_TOO_LARGE'],
      [`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nx-long: ${'y'.repeat(20_000)}\r\n`, 431, 'HEADERS_TOO_LARGE'],
      // A chunk extension over Node's 16 KiB: framing (Node alone says 413, which a GET does not document).
      [`GET /v1/servers HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1;${'x'.repeat(20_000)}\r\n`, 400, 'BAD_REQUEST'],
    ];
    for (const [head, status, code] of cases) {
      const a = await send(r.url, head);
      expect([head.slice(0, 60), a.status, a.headers['content-type']]).toEqual([head.slice(0, 60), status, 'application/problem+json']);
      expect(a.headers['x-request-id']).toMatch(/^[\w-]{36}$/);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(JSON.parse(a.body)).toMatchObject({ code, status, requestId: a.headers['x-request-id'] });
    }
    expect(await (await fetch(`${r.url}/metrics`)).text()).toMatch(/sigil_refusals_total\{code="HEADERS_TOO_LARGE"\} 2/);
  }, 40_000);

  it('refuses a request with more header fields than it reads (431 HEADERS_TOO_LARGE), where Node would drop the rest, an Authorization among them', async () => {
    const r = await start();
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: a\r\n`).join('');
    const many = await send(r.url, `GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n${filler(150)}authorization: Bearer ${r.adminToken}\r\n`);
    expect([many.status, JSON.parse(many.body).code]).toEqual([431, 'HEADERS_TOO_LARGE']);
    // Node 20 keeps the first 101 lines and the registry refuses; Node 24's parser refuses them itself.
    expect(JSON.parse(many.body).detail).toMatch(/100 header fields/);
    // Up to the limit, the request is read whole: the Authorization after 90 others counts.
    const enough = await send(r.url, `GET /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n${filler(90)}authorization: Bearer ${r.adminToken}\r\n`);
    expect(enough.status).toBe(200);
  }, 40_000);
});

databaseFree('when the port is taken', () => {
  it('says so in one line with a code and what to do, without a stack trace', async () => {
    const port = await freePort();
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const error = await startRegistry({ port, dataDir: tempDir() }).catch((e: Error) => e.message);
      expect(error).toMatch(/error PORT_IN_USE: 127\.0\.0\.1:\d+ is already in use.*PORT=/);
      expect(error).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  }, 40_000);
});

/** Starts the registry with stdout piped (not a terminal), until it says it listens; then stops it. */
async function firstStart(env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; dataDir: string }> {
  const dataDir = tempDir();
  const port = await freePort();
  const bin = fileURLToPath(new URL('../bin/sigil-registry.js', import.meta.url));
  const store = await storeOf(dataDir);
  // On PostgreSQL the registry makes no keys of its own: made first, as an operator does.
  if (store.url) await promisify(execFile)(process.execPath, [bin, 'keys', 'init', join(dataDir, 'keys')]);
  const child = spawn(process.execPath, [bin], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), SIGIL_DATA_DIR: dataDir, SIGIL_BOOTSTRAP_TOKEN: undefined, SIGIL_LOG_LEVEL: 'info', ...store.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('listening on') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await fetch(`http://127.0.0.1:${port}/healthz`);
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { stdout, stderr, dataDir };
}

databaseFree('the command line', () => {
  const bin = fileURLToPath(new URL('../bin/sigil-registry.js', import.meta.url));
  /** Runs the bin with `args` in an empty data directory on a free port: whatever it does, within 10 s. */
  async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; dataDir: string }> {
    const dataDir = tempDir();
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, HOST: '127.0.0.1', PORT: String(await freePort()), SIGIL_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    return { code, stdout, stderr, dataDir };
  }

  it('prints its usage for --help and its version for --version, and starts nothing', async () => {
    // `sigil-registry --help` started a registry (and made its keys and admin token).
    for (const flag of ['--help', '-h']) {
      const help = await run([flag]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('usage: sigil-registry');
      expect(help.stdout).toContain('sigil-registry keys init <dir>');
      expect(help.stderr).not.toContain('listening on');
      expect(existsSync(join(help.dataDir, 'bootstrap-token'))).toBe(false);
    }
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  }, 30_000);

  it('refuses an argument it does not know with exit 2, and starts nothing', async () => {
    const wrong = await run(['--port', '9999']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('sigil-registry: error USAGE: unknown argument "--port 9999": the registry takes its settings from its environment');
    expect(existsSync(join(wrong.dataDir, 'bootstrap-token'))).toBe(false);
    // What it repeats of the argument reaches the terminal inert.
    const bidi = await run(['\u202e\u001b[31mx\u{e0041}']);
    expect(bidi.code).toBe(2);
    expect(bidi.stderr).toContain('unknown argument "\\u202e\\u001b[31mx\\u{e0041}"');
    expect(bidi.stderr).not.toMatch(/(?!\n)[\p{Cc}\p{Cf}]/u);
  }, 30_000);
});

describe('the first start', () => {
  it('says where the admin token is written, never that it is shown', async () => {
    const { stderr, dataDir } = await firstStart({});
    expect(stderr).toContain(`its token is in ${join(dataDir, 'bootstrap-token')} (mode 0600)`);
    expect(stderr).not.toMatch(/shown once/);
    expect(stderr).not.toContain(readFileSync(join(dataDir, 'bootstrap-token'), 'utf8').trim());
  }, 40_000);
});

databaseFree('the log format', () => {
  it('is JSON lines when stdout is not a terminal', async () => {
    const { stdout } = await firstStart({});
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('request');
  }, 40_000);

  it('is one readable line per event with SIGIL_LOG_FORMAT=pretty', async () => {
    const { stdout } = await firstStart({ SIGIL_LOG_FORMAT: 'pretty' });
    expect(stdout).toMatch(/^\d\d:\d\d:\d\d info {2}listening address=127\.0\.0\.1 port=\d+/m);
    expect(stdout).toMatch(/^\d\d:\d\d:\d\d info {2}request GET \/healthz 200 [\d.]+ms requestId=/m);
    expect(stdout).not.toContain('{"level"');
  }, 40_000);
});
