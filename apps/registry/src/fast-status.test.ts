import { request } from 'node:http';
import { hashLeaf, merkleTreeHash } from '@sigil/tlog';
import { type BatchedStatement, SigningError, STATUS_PREDICATE_TYPE, verifyBatchedStatement, verifyStatementBundle } from '@sigil/signing/verify';
import { MAX_STATUS_REFS, StatusPredicate, StatusRequest } from '@sigil/manifest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from './deps.js';
import { fastStatus, plainStatusRequestLength, statusRequestOf } from './fast-status.js';
import { openPairedWorld, type PairedListener, type PairedWorld } from './paired-listeners.fixture.js';
import { issueStatus } from './services/issue-status.js';
import { revokeVersion } from './services/revoke-version.js';

/**
 * POST /v1/status answered before Hono (fast-status.ts) against the Hono app alone, over real
 * sockets on one database: the same requests get the same status, headers and signed statement
 * (but for its times and signature), count the same metrics and log the same lines; every
 * refusal is the Hono app's, with the body the hot path already read.
 */
const ADMIN = 'fast-status-test-admin-token-000';
const NAME = 'io.github.acme/weather';
type Side = PairedListener;
let world: PairedWorld;
const t = {} as { reader: string; revoked: string };

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A raw POST (fetch would add and normalise headers); `chunked` sends the body without a
 * Content-Length. Headers as raw lines (name, value, …) may repeat one.
 */
function post(url: string, body: string, headers: Record<string, string> | string[] = {}, chunked = false): Promise<Answer> {
  const length = chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  // Raw lines get no Host header from Node: given here, as for an object.
  const lines = Array.isArray(headers) ? ['host', new URL(url).host, ...Object.entries(length).flat(), ...headers] : { ...length, ...headers };
  return new Promise((ok, fail) => {
    const req = request(url, { method: 'POST', headers: lines, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers as Record<string, string>, body: text }));
    });
    req.on('error', fail);
    if (chunked) req.write(body.slice(0, 5));
    req.end(chunked ? body.slice(5) : body);
  });
}

/** What may differ between two answers: the date, the request id, and for a status its times and signature. */
function comparable(r: Answer, statusKey: string) {
  const { date: _date, 'x-request-id': id, 'content-length': _length, ...headers } = r.headers;
  if (r.status !== 200) return { status: r.status, headers, body: id ? r.body.replaceAll(id, '<request id>') : r.body };
  const answer = JSON.parse(r.body) as { bundle: Record<string, unknown>; proof?: unknown };
  // A batched answer: its statement, verified through its proof and the batch's signature.
  const { statement } = answer.proof ? verifyBatchedStatement(answer as unknown as BatchedStatement, statusKey, { predicateType: STATUS_PREDICATE_TYPE }) : verifyStatementBundle(answer.bundle, statusKey, { predicateType: STATUS_PREDICATE_TYPE });
  // The registry is named by the origin asked (each side listens on its own port).
  const { issuedAt: _i, expiresAt: _e, registry: _r, ...predicate } = statement.predicate as Record<string, unknown>;
  return { status: r.status, headers, fields: Object.keys(answer), body: { ...statement, predicate } };
}

let fast: Side;
let hono: Side;

beforeAll(async () => {
  world = await openPairedWorld(fastStatus, 'sigil-fast-status-', ADMIN);
  ({ fast, hono } = world);
  t.reader = world.tokens.reader;
  t.revoked = world.tokens.revoked;
});

afterAll(() => world?.close());

const json = { 'content-type': 'application/json' };
const reader = () => ({ ...json, authorization: `Bearer ${t.reader}` });
const body = (refs: string[], nonce?: string, batch?: unknown) => JSON.stringify({ refs, ...(nonce ? { nonce } : {}), ...(batch !== undefined ? { batch } : {}) });
type Headers = () => Record<string, string> | string[];
const answered: Array<readonly [string, string, Headers]> = [
  ['one approved version', body([`${NAME}@1.0.0`], 'c2lnaWwtbm9uY2UtMDAwMQ'), reader],
  ['every state, an unknown version, an unknown server and an invalid reference', body([`${NAME}@1.0.0`, `${NAME}@1.1.0`, `${NAME}@1.2.0`, `${NAME}@1.3.0`, `${NAME}@9.9.9`, 'io.github.acme/nothing@1.0.0', 'no-at-sign'], 'c2lnaWwtbm9uY2UtMDAwMg'), reader],
  ['a repeated reference, anonymously, with a request id', body([`${NAME}@1.0.0`, `${NAME}@1.0.0`]), () => ({ ...json, 'x-request-id': 'caller-id-1' })],
  ['a JSON media type with parameters', body([`${NAME}@1.2.0`]), () => ({ ...reader(), 'content-type': 'application/json; charset=utf-8' })],
  ['one approved version, batched', body([`${NAME}@1.0.0`], 'c2lnaWwtbm9uY2UtMDAwMw', true), reader],
  ['every state, batched', body([`${NAME}@1.0.0`, `${NAME}@1.1.0`, `${NAME}@1.2.0`, `${NAME}@1.3.0`, `${NAME}@9.9.9`, 'no-at-sign'], 'c2lnaWwtbm9uY2UtMDAwNA', true), reader],
  ['batch: false, signed on its own', body([`${NAME}@1.0.0`], 'c2lnaWwtbm9uY2UtMDAwNQ', false), reader],
  ['a body with spaces and its keys in another order (scanned and checked by zod)', `{ "batch": true, "nonce": "c2lnaWwtbm9uY2UtMDAwNw", "refs": [ "${NAME}@1.0.0" ] }`, reader],
  ['a reference with an escaped character (scanned and checked by zod)', `{"refs":["${NAME}\\u00401.0.0"],"batch":true,"nonce":"c2lnaWwtbm9uY2UtMDAwOA"}`, reader],
];
const passedOn: Array<readonly [string, number, string, Headers]> = [
  ['a revoked token', 401, body([`${NAME}@1.0.0`]), () => ({ ...json, authorization: `Bearer ${t.revoked}` })],
  ['a malformed token', 401, body([`${NAME}@1.0.0`]), () => ({ ...json, authorization: 'Basic x' })],
  ['a body that is not JSON', 400, '{"refs":', reader],
  ['a body with a repeated key', 422, `{"refs":["${NAME}@1.0.0"],"refs":["${NAME}@1.1.0"]}`, reader],
  ['a body nested too deep', 413, `{"refs":["${NAME}@1.0.0"],"x":${'['.repeat(70)}${']'.repeat(70)}}`, reader],
  ['an unknown field', 422, JSON.stringify({ refs: [`${NAME}@1.0.0`], extra: 1 }), reader],
  ['a reference with a lone surrogate', 422, `{"refs":["${NAME}@1.0.0","\\ud800@1.0.0"]}`, reader],
  ['no references', 422, body([]), reader],
  ['a nonce too short', 422, body([`${NAME}@1.0.0`], 'short'), reader],
  ['a batched question without a nonce', 422, body([`${NAME}@1.0.0`], undefined, true), reader],
  ['a batch flag that is not a boolean', 422, body([`${NAME}@1.0.0`], 'c2lnaWwtbm9uY2UtMDAwNg', 'yes'), reader],
  ['another media type', 415, body([`${NAME}@1.0.0`]), () => ({ ...reader(), 'content-type': 'text/plain' })],
  ['a media type that only starts like JSON', 415, body([`${NAME}@1.0.0`]), () => ({ ...reader(), 'content-type': 'application/json-seq' })],
  ['a media type with a space before +json', 415, body([`${NAME}@1.0.0`]), () => ({ ...reader(), 'content-type': 'application/a b+json' })],
  ['an unusual Host header', 200, body([`${NAME}@1.0.0`]), () => ({ ...reader(), host: 'Registry.Example' })],
  // Node keeps the first line of these (req.headers); the app reads every line, joined.
  ['an Authorization header given twice', 401, body([`${NAME}@1.0.0`]), () => ['content-type', 'application/json', 'authorization', `Bearer ${t.reader}`, 'authorization', `Bearer ${t.reader}`]],
  ['a Content-Type header given twice', 415, body([`${NAME}@1.0.0`]), () => ['authorization', `Bearer ${t.reader}`, 'content-type', 'application/json', 'content-type', 'application/json']],
  ['a User-Agent header given twice', 200, body([`${NAME}@1.0.0`]), () => [...Object.entries(reader()).flat(), 'user-agent', 'a', 'user-agent', 'b']],
  // JSON media types the route's own media-type check (@hono/zod-openapi) refuses.
  ['a JSON media type with a space before its parameter', 415, body([`${NAME}@1.0.0`]), () => ({ ...reader(), 'content-type': 'application/json ; charset=utf-8' })],
  ['a +json media type with a digit in its name', 415, body([`${NAME}@1.0.0`]), () => ({ ...reader(), 'content-type': 'application/vnd.a2+json' })],
  ['a JSON media type with an empty parameter', 415, body([`${NAME}@1.0.0`]), () => ({ ...reader(), 'content-type': 'application/json;' })],
];

describe('the status request without zod', () => {
  const ref = `${NAME}@1.0.0`;
  const probes: unknown[] = [
    { refs: [ref] },
    { refs: [ref], nonce: 'c2lnaWwtbm9uY2UtMDAwMQ', batch: true },
    { batch: false, refs: ['abc', 'x'.repeat(512)] },
    { refs: Array.from({ length: MAX_STATUS_REFS }, () => ref) },
    { refs: Array.from({ length: MAX_STATUS_REFS + 1 }, () => ref) },
    { refs: [] },
    { refs: ['ab'] },
    { refs: ['x'.repeat(513)] },
    { refs: [ref, 1] },
    { refs: ref },
    { refs: [ref], nonce: 'short' },
    { refs: [ref], nonce: 'c2lnaWwtbm9uY2UtMDAwMQ=' },
    { refs: [ref], nonce: 'x'.repeat(128) },
    { refs: [ref], nonce: 'x'.repeat(129) },
    { refs: [ref], nonce: null },
    { refs: [ref], batch: 'yes' },
    { refs: [ref], batch: true },
    { refs: [ref], batch: null },
    { refs: [ref], extra: 1 },
    { refs: [ref, 'x'.repeat(3)], batch: false, nonce: 'A'.repeat(16) },
    { nonce: 'A'.repeat(16), refs: [ref] },
    { refs: ['a"bc'] },
    { refs: ['a\\bc'] },
    { refs: ['io.github.acme/wétter@1.0.0'] },
    { refs: ['tab\there'] },
    JSON.parse(`{"refs":["${ref}"],"__proto__":{"batch":true}}`),
    {},
    [ref],
    null,
    'refs',
  ];
  it.each(probes.map((p) => [JSON.stringify(p)?.slice(0, 80), p]))('takes %s only when StatusRequest takes it unchanged, measuring its JSON text', (_label, probe) => {
    const zod = StatusRequest.safeParse(probe);
    const length = plainStatusRequestLength(probe);
    if (length >= 0) {
      expect(zod.data).toEqual(probe);
      expect(length).toBe(JSON.stringify(probe).length);
    } else if (zod.success) {
      // A valid body is left to scanJson and zod only when its text needs an escape or non-ASCII.
      expect(JSON.stringify(probe)).toMatch(/\\|[^\x20-\x7e]/);
    }
  });

  it('scans a body the plain check does not prove: repeated keys, deep nesting and bad JSON are refused', () => {
    expect(statusRequestOf(`{"refs":["${ref}"],"refs":["${ref}"]}`)).toBeUndefined();
    expect(statusRequestOf(`{"batch":true,"batch":true}`)).toBeUndefined();
    expect(statusRequestOf(`{"refs":["abc"],"batch":1,"batch":true}`)).toBeUndefined();
    expect(statusRequestOf(`{"refs":["${ref}"],"x":${'['.repeat(70)}${']'.repeat(70)}}`)).toBeUndefined();
    expect(statusRequestOf('{"refs":')).toBeUndefined();
    expect(statusRequestOf(`{ "refs": ["${ref}"] }`)).toEqual({ refs: [ref] });
    expect(statusRequestOf(JSON.stringify({ refs: [ref], batch: true, nonce: 'A'.repeat(16) }))).toEqual({ refs: [ref], batch: true, nonce: 'A'.repeat(16) });
    // A batched question without a nonce: refused by the schema, whichever check reads it.
    expect(statusRequestOf(JSON.stringify({ refs: [ref], batch: true }))).toBeUndefined();
    expect(statusRequestOf(`{ "refs": ["${ref}"], "batch": true }`)).toBeUndefined();
  });
});

describe('the status hot path', () => {
  it.each(answered)('answers %s itself, as the Hono app does', async (_label, text, headers) => {
    const before = fast.fallbacks;
    const a = await post(`${fast.url}/v1/status`, text, headers());
    expect(fast.fallbacks).toBe(before);
    const b = await post(`${hono.url}/v1/status`, text, headers());
    expect(a.status, a.body).toBe(200);
    const key = fast.deps.keys.statusPublicKey;
    expect(comparable(a, key)).toEqual(comparable(b, key));
    expect(a.headers['x-request-id']).toMatch(/^[\w-=]+$/);
  });

  it.each(passedOn)('passes %s to the Hono app, body and all (answered %i)', async (_label, status, text, headers) => {
    const before = fast.fallbacks;
    const a = await post(`${fast.url}/v1/status`, text, headers());
    expect(fast.fallbacks).toBe(before + 1);
    const b = await post(`${hono.url}/v1/status`, text, headers());
    expect(a.status).toBe(status);
    const key = fast.deps.keys.statusPublicKey;
    expect(comparable(a, key)).toEqual(comparable(b, key));
  });

  it('passes a body without a Content-Length (chunked) to the Hono app, which answers it', async () => {
    const text = body([`${NAME}@1.0.0`]);
    const before = fast.fallbacks;
    const a = await post(`${fast.url}/v1/status`, text, reader(), true);
    expect(fast.fallbacks).toBe(before + 1);
    const b = await post(`${hono.url}/v1/status`, text, reader(), true);
    const key = fast.deps.keys.statusPublicKey;
    expect(a.status).toBe(200);
    expect(comparable(a, key)).toEqual(comparable(b, key));
  });

  it('names the registry SIGIL_PUBLIC_URL when it is set, whatever Host the client sends, on the hot path and the Hono route alike', async () => {
    const side = await world.side({ publicOrigin: 'https://registry.example' });
    const key = side.deps.keys.statusPublicKey;
    const named = (r: Answer): unknown => {
      expect(r.status, r.body).toBe(200);
      return verifyStatementBundle((JSON.parse(r.body) as { bundle: Record<string, unknown> }).bundle, key, { predicateType: STATUS_PREDICATE_TYPE }).statement.predicate.registry;
    };
    for (const host of ['attacker.example', 'registry.example:8443']) {
      const before = side.fallbacks;
      expect(named(await post(`${side.url}/v1/status`, body([`${NAME}@1.0.0`]), { ...reader(), host }))).toBe('https://registry.example');
      expect(side.fallbacks).toBe(before);
      // Chunked: passed on to the Hono route.
      expect(named(await post(`${side.url}/v1/status`, body([`${NAME}@1.0.0`]), { ...reader(), host }, true))).toBe('https://registry.example');
      expect(side.fallbacks).toBe(before + 1);
    }
  });

  it('passes a body over the limit to the Hono app, which refuses it', async () => {
    const limited = await world.side({ bodyLimit: 64 });
    const text = body([`${NAME}@1.0.0`, `${NAME}@1.1.0`, `${NAME}@1.2.0`]);
    const a = await post(`${limited.url}/v1/status`, text, reader());
    expect(limited.fallbacks).toBe(1);
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('counted the same requests in the metrics, and logged the same lines', async () => {
    const requests = async (s: Side) => (await s.deps.metrics.registry.getSingleMetricAsString('sigil_http_requests_total')).split('\n').sort();
    expect(await requests(fast)).toEqual(await requests(hono));
    const plain = (s: Side) => s.lines.filter((l) => l.msg === 'request').map(({ time: _t, pid: _p, hostname: _h, ms: _ms, requestId: _r, ...rest }) => rest);
    expect(plain(fast).length).toBe(answered.length + passedOn.length + 1);
    expect(plain(fast)).toEqual(plain(hono));
  });

  it('shares the rate limits with the Hono app: a client over its limit is refused by it', async () => {
    const limited = await world.side({ rateLimitPerAddress: 2 });
    const text = body([`${NAME}@1.0.0`]);
    expect((await post(`${limited.url}/v1/status`, text, reader())).status).toBe(200);
    expect((await post(`${limited.url}/v1/status`, '{', reader())).status).toBe(400);
    // Over the address's limit, a request without a token that holds is refused by the Hono app...
    const over = await post(`${limited.url}/v1/status`, text, { ...json, authorization: 'Bearer sigil_0000000000000000_not-a-token-at-all-0000' });
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited.fallbacks).toBe(2);
    // ...and a valid token goes on under its own limit (hosts behind one NAT share the address).
    expect((await post(`${limited.url}/v1/status`, text, reader())).status).toBe(200);
    expect(limited.fallbacks).toBe(3);
  });

  it('steps aside when CORS origins are configured (the Hono app negotiates them)', async () => {
    const cors = await world.side({ corsOrigins: ['https://app.example'] });
    const r = await post(`${cors.url}/v1/status`, body([`${NAME}@1.0.0`]), { ...reader(), origin: 'https://app.example' });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(cors.fallbacks).toBe(1);
  });
});

describe('when status questions are batched', () => {
  const nonce = (i: number) => `c2lnaWwtYmF0Y2gtbm9uY2Ut${i}`;
  const ask = (deps: Deps, n: number, refs = [`${NAME}@1.0.0`]) =>
    Promise.all(Array.from({ length: n }, (_, i) => issueStatus(deps, refs, nonce(i), 'http://registry.example', true))) as Promise<BatchedStatement[]>;
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
      return 'accepted';
    } catch (e) {
      return e instanceof SigningError ? e.code : `thrown ${String(e)}`;
    }
  };

  it('signs the questions of one turn once: one batch bundle, each answer its own leaf and proof', async () => {
    const answers = await ask(fast.deps, 5);
    const key = fast.deps.keys.statusPublicKey;
    expect(new Set(answers.map((a) => JSON.stringify(a.bundle))).size).toBe(1);
    expect(answers.map((a) => [a.proof.index, a.proof.treeSize])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 5]));
    answers.forEach((a, i) => {
      const { statement } = verifyBatchedStatement(a, key, { predicateType: STATUS_PREDICATE_TYPE });
      expect(statement.predicate).toMatchObject({ nonce: nonce(i), entries: [{ ref: `${NAME}@1.0.0`, status: 'approved' }] });
      // What a host then parses it with (numbers as numbers on either dialect).
      expect(StatusPredicate.safeParse(statement.predicate).success).toBe(true);
    });
  });

  it('makes the tree RFC 9162 defines, whatever the batch size: every answer of batches of 1 to 20 verifies, with the path its size needs', async () => {
    const key = fast.deps.keys.statusPublicKey;
    for (let size = 1; size <= 20; size++) {
      const answers = await ask(fast.deps, size);
      answers.forEach((a, i) => {
        expect(a.proof).toMatchObject({ index: i, treeSize: size });
        expect(verifyBatchedStatement(a, key, { predicateType: STATUS_PREDICATE_TYPE }).statement.predicate).toMatchObject({ nonce: nonce(i) });
      });
      // The root stated is the RFC 9162 Merkle tree hash of the leaves, as @sigil/tlog computes it.
      const root = JSON.parse(Buffer.from((answers[0]!.bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64').toString()).subject[0].digest.sha256;
      expect(root).toBe(Buffer.from(merkleTreeHash(answers.map((a) => hashLeaf(Buffer.from(a.statement, 'base64'))))).toString('hex'));
    }
  });

  it('refuses a proof of another answer, a changed leaf, a wrong tree size and a changed path (SIGNATURE_INVALID)', async () => {
    const [a, b] = await ask(fast.deps, 3);
    const key = fast.deps.keys.statusPublicKey;
    const verify = (x: BatchedStatement) => () => verifyBatchedStatement(x, key, { predicateType: STATUS_PREDICATE_TYPE });
    expect(codeOf(verify({ ...a!, proof: b!.proof }))).toBe('SIGNATURE_INVALID');
    const text = Buffer.from(a!.statement, 'base64').toString().replace('"approved"', '"revoked"');
    expect(codeOf(verify({ ...a!, statement: Buffer.from(text).toString('base64') }))).toBe('SIGNATURE_INVALID');
    expect(codeOf(verify({ ...a!, proof: { ...a!.proof, treeSize: 4 } }))).toBe('SIGNATURE_INVALID');
    expect(codeOf(verify({ ...a!, proof: { ...a!.proof, hashes: [...a!.proof.hashes.slice(1), a!.proof.hashes[0]!] } }))).toBe('SIGNATURE_INVALID');
    // Another batch of other statements (the same questions within the same millisecond would
    // make the same tree, whose root the other signature then rightly covers).
    const [other] = await ask(fast.deps, 3, [`${NAME}@1.1.0`]);
    expect(codeOf(verify({ ...a!, bundle: other!.bundle }))).toBe('SIGNATURE_INVALID');
    expect(codeOf(verify(a!))).toBe('accepted');
  });

  it('fails a question whose statement is over the limit alone: the others of its batch are answered', async () => {
    const big = Array.from({ length: 256 }, (_, i) => `${'x'.repeat(500)}${i}`);
    const [over, fine] = await Promise.allSettled([
      issueStatus(fast.deps, big, nonce(0), 'http://registry.example', true),
      issueStatus(fast.deps, [`${NAME}@1.0.0`], nonce(1), 'http://registry.example', true),
    ]);
    expect(over.status === 'rejected' && (over.reason as SigningError).code).toBe('STATEMENT_INVALID');
    const answer = (fine as PromiseFulfilledResult<BatchedStatement>).value;
    expect(answer.proof).toMatchObject({ index: 0, treeSize: 1 });
    expect(verifyBatchedStatement(answer, fast.deps.keys.statusPublicKey, { predicateType: STATUS_PREDICATE_TYPE }).statement.predicate).toMatchObject({ nonce: nonce(1) });
  });

  it('answers each question with its own references, even when one question\'s references joined by newlines are another\'s', async () => {
    const [a, b] = [`${NAME}@1.0.0`, `${NAME}@1.2.0`];
    const entries = (x: BatchedStatement) => (verifyBatchedStatement(x, fast.deps.keys.statusPublicKey, { predicateType: STATUS_PREDICATE_TYPE }).statement.predicate as { entries: Array<{ ref: string; status: string }> }).entries.map((e) => [e.ref, e.status]);
    const [joined, apart] = (await Promise.all([
      issueStatus(fast.deps, [`${a}\n${b}`], nonce(0), 'http://registry.example', true),
      issueStatus(fast.deps, [a, b], nonce(1), 'http://registry.example', true),
    ])) as BatchedStatement[];
    expect(entries(joined!)).toEqual([[`${a}\n${b}`, 'unknown']]);
    expect(entries(apart!)).toEqual([[a, 'approved'], [b, 'pending']]);
  });

  it('answers from the database as it is when the batch is made: a revocation shows in the next batch', async () => {
    const [before] = await ask(fast.deps, 2, [`${NAME}@1.2.0`]);
    const entry = (a: BatchedStatement) => (verifyBatchedStatement(a, fast.deps.keys.statusPublicKey, { predicateType: STATUS_PREDICATE_TYPE }).statement.predicate as { entries: Array<{ status: string }> }).entries[0]!.status;
    expect(entry(before!)).toBe('pending');
    await revokeVersion(fast.deps, { name: 'alice', role: 'security', namespaces: [], tokenId: null }, NAME, '1.2.0', 'withdrawn');
    const [after] = await ask(fast.deps, 2, [`${NAME}@1.2.0`]);
    expect(entry(after!)).toBe('revoked');
  });
});
