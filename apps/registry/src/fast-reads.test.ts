import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastReads } from './fast-reads.js';
import { openPairedWorld, type PairedListener, type PairedWorld } from './paired-listeners.fixture.js';
import { checkpointer } from './services/sign-checkpoint.js';

/**
 * The read hot path (fast-reads.ts) against the Hono app alone, over real sockets on one
 * database: the same requests must get the same status, headers and bytes, count the same
 * metrics and log the same lines; and only answers that succeed are the hot path's own.
 */
const ADMIN = 'fast-reads-test-admin-token-0000';
const NAME = 'io.github.acme/weather';
type Side = PairedListener;
let world: PairedWorld;
const t = {} as { reader: string; revoked: string; publisher: string };

/** A raw GET (fetch would add and normalise headers): status, headers, body; headers as raw lines (name, value, …) may repeat one. */
function get(url: string, headers: Record<string, string> | string[] = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((ok, fail) => {
    // Raw lines get no Host header from Node: given here, as for an object.
    const lines = Array.isArray(headers) ? ['host', new URL(url).host, ...headers] : headers;
    const req = request(url, { method, headers: lines, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers as Record<string, string>, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

/** What may differ between two answers to the same request: the date, and a generated request id. */
function comparable(r: { status: number; headers: Record<string, string>; body: string }) {
  const { date: _date, 'x-request-id': id, ...headers } = r.headers;
  return { status: r.status, headers, body: id ? r.body.replaceAll(id, '<request id>') : r.body };
}

let fast: Side;
let hono: Side;

beforeAll(async () => {
  // Every entry under a signed checkpoint, so no record gains its log entry between two reads.
  world = await openPairedWorld(fastReads, 'sigil-fast-', ADMIN, (deps) => checkpointer(deps).signNow());
  ({ fast, hono } = world);
  Object.assign(t, world.tokens);
});

afterAll(() => world?.close());

const reader = () => ({ authorization: `Bearer ${t.reader}` });
const answered = [
  ['a version', `/v1/servers/${NAME}/versions/1.0.0`, reader],
  ['a revoked version', `/v1/servers/${NAME}/versions/1.1.0`, reader],
  ['a pending version, anonymously', `/v1/servers/${NAME}/versions/1.2.0`, () => ({})],
  ['a rejected version, with a query string and a request id', `/v1/servers/${NAME}/versions/1.3.0?x=1`, () => ({ ...reader(), 'x-request-id': 'caller-id-1' })],
  ['a server', `/v1/servers/${NAME}`, reader],
  ['the v0.1 latest version', `/v0.1/servers/${encodeURIComponent(NAME)}/versions/latest`, () => ({ ...reader(), host: 'registry.example:8443' })],
  ['a v0.1 version, lower-case %2f, no port', `/v0.1/servers/io.github.acme%2fweather/versions/1.0.0`, () => ({ ...reader(), host: 'registry.example' })],
  ['a page of servers', '/v1/servers', reader],
  ['a page of servers, anonymously', '/v1/servers?limit=1', () => ({})],
  ['a search, a later page', `/v1/servers?search=weath&limit=100&cursor=${Buffer.from('io.github.acme/a').toString('base64url')}`, reader],
  ['the v0.1 listing', '/v0.1/servers', () => ({ ...reader(), host: 'registry.example:8443' })],
  ['the v0.1 listing, latest, a page of one, a search', '/v0.1/servers?version=latest&limit=1&search=weather', () => ({ ...reader(), host: 'registry.example' })],
  ['a page of servers from an empty cursor', '/v1/servers?cursor=&limit=1', reader],
  ['a page of servers after a 200-character name', `/v1/servers?cursor=${Buffer.from(`io.github.acme/${'z'.repeat(185)}`).toString('base64url')}`, reader],
  ['the v0.1 listing from an empty cursor', '/v0.1/servers?cursor=', () => ({ ...reader(), host: 'registry.example' })],
  ['the v0.1 listing after a 200-character name', `/v0.1/servers?cursor=${Buffer.from(`io.github.acme/${'a'.repeat(185)}\n999999999`).toString('base64url')}`, () => ({ ...reader(), host: 'registry.example' })],
  ['the v0.1 listing, one version, a later page', `/v0.1/servers?version=1.0.0&limit=1&cursor=${Buffer.from(`${NAME}\n0`).toString('base64url')}`, () => ({ ...reader(), host: 'registry.example' })],
] as const;
const passedOn = [
  ['an unknown version', `/v1/servers/${NAME}/versions/9.9.9`, reader],
  ['an unknown server', '/v1/servers/io.github.acme/nothing', reader],
  ['an invalid version', `/v1/servers/${NAME}/versions/latest`, reader],
  ['an invalid name', '/v1/servers/io.github.acme/-x', reader],
  ['a revoked token', `/v1/servers/${NAME}/versions/1.0.0`, () => ({ authorization: `Bearer ${t.revoked}` })],
  ['a malformed token', `/v1/servers/${NAME}/versions/1.0.0`, () => ({ authorization: 'Basic x' })],
  ['a request id too long to keep', `/v1/servers/${NAME}/versions/9.9.9`, () => ({ ...reader(), 'x-request-id': 'x'.repeat(65) })],
  ['a v0.1 version not approved', `/v0.1/servers/${encodeURIComponent(NAME)}/versions/1.1.0`, reader],
  ['a percent-encoded path', `/v1/servers/io.github.acme/weath%65r/versions/1.0.0`, reader],
  ['a trailing slash', `/v1/servers/${NAME}/`, reader],
  ['a page of servers with a limit out of range', '/v1/servers?limit=0', reader],
  ['a page of servers with a limit to coerce', '/v1/servers?limit=010', reader],
  ['a page of servers with an unknown parameter', '/v1/servers?x=1', reader],
  ['a page of servers with a parameter given twice', '/v1/servers?limit=1&limit=2', reader],
  ['a percent-encoded search', '/v1/servers?search=weath%65r', reader],
  ['a search too long', `/v1/servers?search=${'a'.repeat(201)}`, reader],
  ['the v0.1 listing since a time', '/v0.1/servers?updated_since=2026-01-01T00:00:00Z', () => ({ ...reader(), host: 'registry.example' })],
  ['the v0.1 listing with a limit out of range', '/v0.1/servers?limit=101', () => ({ ...reader(), host: 'registry.example' })],
  ['the v0.1 listing of a version that is not one (VERSION_INVALID)', '/v0.1/servers?version=1.x', () => ({ ...reader(), host: 'registry.example' })],
  ['the v0.1 listing with an unusual Host header', '/v0.1/servers', () => ({ ...reader(), host: 'Registry.Example' })],
  ['a v0.1 read with an unusual Host header', `/v0.1/servers/${encodeURIComponent(NAME)}/versions/latest`, () => ({ ...reader(), host: 'Registry.Example' })],
  // Node keeps the first line of these (req.headers); the app reads every line, joined.
  ['an Authorization header given twice', `/v1/servers/${NAME}/versions/1.0.0`, () => ['authorization', `Bearer ${t.reader}`, 'authorization', `Bearer ${t.reader}`]],
  ['an empty Authorization header, then a token', `/v1/servers/${NAME}`, () => ['authorization', '', 'authorization', `Bearer ${t.reader}`]],
  ['a User-Agent header given twice', '/v1/servers', () => ['authorization', `Bearer ${t.reader}`, 'user-agent', 'a', 'user-agent', 'b']],
  // @hono/node-server makes no URL of these (400 before the app), whatever the route.
  ['a version with a Host header no URL can be made of', `/v1/servers/${NAME}/versions/1.0.0`, () => ({ ...reader(), host: 'user@registry.example' })],
  ['a page of servers with a Host header whose port is over 65535', '/v1/servers', () => ({ ...reader(), host: 'registry.example:99999' })],
] as const;

describe('the read hot path', () => {
  it.each(answered)('answers %s itself, exactly as the Hono app does', async (_label, path, headers) => {
    const before = fast.fallbacks;
    const a = await get(`${fast.url}${path}`, headers());
    expect(fast.fallbacks).toBe(before);
    const b = await get(`${hono.url}${path}`, headers());
    expect(a.status).toBe(200);
    expect(comparable(a)).toEqual(comparable(b));
    expect(a.headers['x-request-id']).toMatch(/^[\w-=]+$/);
  });

  it.each(passedOn)('passes %s to the Hono app', async (_label, path, headers) => {
    const before = fast.fallbacks;
    const a = await get(`${fast.url}${path}`, headers());
    expect(fast.fallbacks).toBe(before + 1);
    const b = await get(`${hono.url}${path}`, headers());
    expect(comparable(a)).toEqual(comparable(b));
    expect(a.headers['x-request-id']).toBeDefined();
  });

  it('passes HEAD and other methods to the Hono app', async () => {
    const before = fast.fallbacks;
    const a = await get(`${fast.url}/v1/servers/${NAME}/versions/1.0.0`, reader(), 'HEAD');
    const b = await get(`${hono.url}/v1/servers/${NAME}/versions/1.0.0`, reader(), 'HEAD');
    expect(fast.fallbacks).toBe(before + 1);
    expect(comparable(a)).toEqual(comparable(b));
  });

  it('counted the same requests in the metrics, and logged the same lines', async () => {
    const requests = async (s: Side) => (await s.deps.metrics.registry.getSingleMetricAsString('sigil_http_requests_total')).split('\n').sort();
    expect(await requests(fast)).toEqual(await requests(hono));
    const counts = async (s: Side) => (await s.deps.metrics.registry.getSingleMetricAsString('sigil_http_request_duration_seconds')).split('\n').filter((l) => l.includes('_count')).sort();
    expect(await counts(fast)).toEqual(await counts(hono));
    const plain = (s: Side) => s.lines.filter((l) => l.msg === 'request').map(({ time: _t, pid: _p, hostname: _h, ms: _ms, requestId: _r, ...rest }) => rest);
    expect(plain(fast).length).toBe(answered.length + passedOn.length + 1);
    expect(plain(fast)).toEqual(plain(hono));
  });

  it('shares the rate limits with the Hono app: a client over its limit is refused by it', async () => {
    const limited = await world.side({ rateLimitPerAddress: 2 });
    const path = `${limited.url}/v1/servers/${NAME}/versions/1.0.0`;
    expect((await get(path, reader())).status).toBe(200);
    expect((await get(`${limited.url}/v1/servers/${NAME}/versions/9.9.9`, reader())).status).toBe(404);
    expect(limited.fallbacks).toBe(1);
    // Over the address's limit, a request without a token that holds is refused by the Hono app...
    const over = await get(path, { authorization: 'Bearer sigil_0000000000000000_not-a-token-at-all-0000' });
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited.fallbacks).toBe(2);
    // ...and a valid token goes on under its own limit (hosts behind one NAT share the address).
    expect((await get(path, reader())).status).toBe(200);
    expect(limited.fallbacks).toBe(3);
  });

  it('counts each request of a concurrent burst once, before any await: exactly the limit is answered', async () => {
    const limited = await world.side({ rateLimitPerAddress: 5 });
    // A write transaction held open meanwhile: every read of the burst waits on it, so all twelve
    // are in flight at once (as on PostgreSQL, where every read is a round trip).
    let release!: () => void;
    const held = limited.deps.db.transaction(() => new Promise<void>((resolve) => (release = resolve)));
    // Anonymous reads, which the address limit is for.
    const burst = Promise.all(Array.from({ length: 12 }, (_, i) => get(`${limited.url}/v1/servers/${NAME}/versions/${i % 4 === 3 ? '9.9.9' : '1.0.0'}`, {})));
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await held;
    const statuses = (await burst).map((r) => r.status);
    // 5 within the limit (found or not found), the other 7 refused, whichever path answered.
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    expect(statuses.filter((s) => s === 200 || s === 404)).toHaveLength(5);
  });

  it('steps aside when CORS origins are configured (the Hono app negotiates them)', async () => {
    const cors = await world.side({ corsOrigins: ['https://app.example'] });
    const r = await get(`${cors.url}/v1/servers/${NAME}/versions/1.0.0`, { ...reader(), origin: 'https://app.example' });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(cors.fallbacks).toBe(1);
  });

  it('serves stored text the registry did not write (quotes, control characters, non-ASCII) and a value that is not text exactly as the Hono app does', async () => {
    const path = `/v1/servers/${NAME}/versions/1.3.0`;
    const reason = 'a "quoted" \\ reason\n\t\u0001\u001f\u007f, né — ✓ \u2028 😀';
    await world.database.raw.run("UPDATE versions SET rejection_reason = ?, rejected_by = ? WHERE server = ? AND version = '1.3.0'", [reason, 'ünïcode "by"', NAME]);
    const before = fast.fallbacks;
    const a = await get(`${fast.url}${path}`, reader());
    expect(fast.fallbacks).toBe(before);
    expect((JSON.parse(a.body) as { rejection: { reason: string } }).rejection.reason).toBe(reason);
    expect(comparable(a)).toEqual(comparable(await get(`${hono.url}${path}`, reader())));
    if (world.database.dialect !== 'sqlite') return;
    // SQLite keeps a BLOB in a text column: JSON.stringify writes the Buffer it is read as, which
    // the record made by SQLite does not; the hot path then reads the record as the route does.
    await world.database.raw.run("UPDATE versions SET risk = CAST('high' AS BLOB) WHERE server = ? AND version = '1.3.0'", [NAME]);
    const blob = await get(`${fast.url}${path}`, reader());
    expect(blob.status).toBe(200);
    expect((JSON.parse(blob.body) as { risk: unknown }).risk).toEqual({ type: 'Buffer', data: [...Buffer.from('high')] });
    expect(comparable(blob)).toEqual(comparable(await get(`${hono.url}${path}`, reader())));
  });

  it('serves a row changed behind the registry as it now is (the database is the one source of truth)', async () => {
    const path = `/v1/servers/${NAME}/versions/1.2.0`;
    const before = JSON.parse((await get(`${fast.url}${path}`, reader())).body) as { manifest: { description: string } };
    // The immutability trigger out of the way first, as someone with the database's keys could.
    await world.database.raw.run(world.database.dialect === 'sqlite' ? 'DROP TRIGGER versions_content_immutable' : 'ALTER TABLE versions DISABLE TRIGGER versions_guard');
    const changed = { ...before.manifest, description: 'Changed in the database' };
    await world.database.raw.run("UPDATE versions SET manifest = ? WHERE server = ? AND version = '1.2.0'", [JSON.stringify(changed), NAME]);
    const after = JSON.parse((await get(`${fast.url}${path}`, reader())).body) as { manifest: { description: string } };
    expect(after.manifest.description).toBe('Changed in the database');
    // GET a server and v0.1 GET version too, each asked before the change (so kept, on SQLite: read-memo.ts).
    type Versions = { versions: Array<{ version: string; risk: string }> };
    const riskOf = async () => (JSON.parse((await get(`${fast.url}/v1/servers/${NAME}`, reader())).body) as Versions).versions.find((v) => v.version === '1.2.0')?.risk;
    const mcpPath = `/v0.1/servers/${encodeURIComponent(NAME)}/versions/1.0.0`;
    const mcp = async () => JSON.parse((await get(`${fast.url}${mcpPath}`, reader())).body) as { server: { description: string } };
    // The listings too (pages kept on SQLite: Db.keptSnapshot).
    const mcpList = async () => (await get(`${fast.url}/v0.1/servers?limit=100`, reader())).body;
    type Page = { servers: Array<{ name: string; latest: { version: string; digest: string } | null }> };
    const latestOf = async () => (JSON.parse((await get(`${fast.url}/v1/servers?limit=100`, reader())).body) as Page).servers.find((s) => s.name === NAME)!.latest!;
    const listed = await mcpList();
    const latest = await latestOf();
    const risk = await riskOf();
    const served = await mcp();
    const stored = (await world.database.raw.get<{ s: string }>("SELECT server_json AS s FROM versions WHERE server = ? AND version = '1.0.0'", [NAME]))!.s;
    if (world.database.dialect === 'sqlite') await world.database.raw.run('DROP TRIGGER versions_server_json_immutable');
    await world.database.raw.run("UPDATE versions SET risk = ? WHERE server = ? AND version = '1.2.0'", [risk === 'high' ? 'low' : 'high', NAME]);
    await world.database.raw.run("UPDATE versions SET server_json = ? WHERE server = ? AND version = '1.0.0'", [JSON.stringify({ ...served.server, description: 'Changed in the database' }), NAME]);
    expect(await riskOf()).toBe(risk === 'high' ? 'low' : 'high');
    expect((await mcp()).server.description).toBe('Changed in the database');
    expect(listed).not.toContain('Changed in the database');
    expect(await mcpList()).toContain('Changed in the database');
    await world.database.raw.run('UPDATE versions SET digest = ? WHERE server = ? AND version = ?', [`sha256:${'f'.repeat(64)}`, NAME, latest.version]);
    expect((await latestOf()).digest).toBe(`sha256:${'f'.repeat(64)}`);
    await world.database.raw.run('UPDATE versions SET digest = ? WHERE server = ? AND version = ?', [latest.digest, NAME, latest.version]);
    expect(await latestOf()).toEqual(latest);
    await world.database.raw.run("UPDATE versions SET risk = ? WHERE server = ? AND version = '1.2.0'", [risk, NAME]);
    await world.database.raw.run("UPDATE versions SET server_json = ? WHERE server = ? AND version = '1.0.0'", [stored, NAME]);
    expect(await mcp()).toEqual(served);
    expect(await mcpList()).toBe(listed);
  });
});
