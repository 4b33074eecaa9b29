import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '@sigil/db';
import { manifestDigest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import { createTestStore, startRegistry, weatherManifest, type RegistryProcess, type TestDialect, type TestStore } from '@sigil/testing';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The registry's whole REST surface against hostile input, driven by its own /openapi.json: the
// real registry process on a real SQLite file and again on a real PostgreSQL database of its own, spoken to over raw TCP on 127.0.0.1 (so a request
// can carry what no HTTP client would send: raw bytes in the target, a header twice, a body with
// a lying type). For every operation, generated requests (schema-valid and schema-violating) and
// every role's token; each answer is held to the contract of docs/api.md: never a 5xx; a refusal
// is application/problem+json with a documented `code` (at the status the document gives it), a
// sentence and the request id; the status is one the document lists for the operation; a 2xx body
// validates against the documented schema; a refused request changes no row. Seeded and bounded:
// the seed is printed with any counterexample (SIGIL_FUZZ_SEED=<n> runs another, SIGIL_FUZZ_RUNS=<n>
// more per operation, SIGIL_FUZZ_OP='put /v1/allowlist' only the operations whose method and path hold it).
// PostgreSQL runs the same properties with fewer runs per operation (SIGIL_FUZZ_PG_RUNS, 10 unless
// set), to keep the file's time small in CI: the dialect changes the queries, not the routes.
const SEED = Number(process.env.SIGIL_FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.SIGIL_FUZZ_RUNS ?? 40);
const PG_RUNS = Number(process.env.SIGIL_FUZZ_PG_RUNS ?? 10);
const BODY_LIMIT = 64 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'sigil-fuzz-'));
let store: TestStore;
let limitedStore: TestStore;
let registry: RegistryProcess;
let limited: RegistryProcess;
let db: Store;
let doc: OpenApi;
let port: number;
let codes: Map<string, number>;
let publisherSigner: ReturnType<typeof createSigner>;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};

type Schema = Record<string, unknown>;
type Operation = {
  operationId: string;
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Schema }>;
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type OpenApi = { info: { description: string }; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
type Op = { method: string; template: string; op: Operation };
/** `elsewhere`: a path value left the target outside the template (empty, or a slash in it), so it asks another path. */
type Request = { method: string; target: string; headers: Array<[string, string]>; body?: Buffer | undefined; chunked?: boolean; elsewhere?: boolean };
type Answer = { status: number; headers: Map<string, string[]>; body: Buffer };

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket: one request per connection, the answer read to the end.

function send(req: Request, to = port): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(to, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 15 s to ${req.method} ${req.target.slice(0, 200)}`));
    }, 15_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {}); // a server may close early (after answering a too-large request)
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (e) {
        reject(new Error(`${(e as Error).message} to ${req.method} ${req.target.slice(0, 200)}`));
      }
    });
    const lines = [`${req.method} ${req.target} HTTP/1.1`, `host: 127.0.0.1:${to}`, 'connection: close', ...req.headers.map(([k, v]) => `${k}: ${v}`)];
    if (req.body !== undefined) lines.push(req.chunked ? 'transfer-encoding: chunked' : `content-length: ${req.body.length}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
    // Chunked: one chunk, then the last (an empty body is the last chunk alone).
    const chunk = req.body?.length ? [Buffer.from(`${req.body.length.toString(16)}\r\n`), req.body, Buffer.from('\r\n')] : [];
    const body = req.body === undefined ? [] : req.chunked ? [...chunk, Buffer.from('0\r\n\r\n')] : [req.body];
    // Written, not ended: a client that half-closes its side is answered only if the answer is
    // ready before Node reads the FIN (Node's HTTP server aborts a request whose client ended,
    // httpAllowHalfOpen false), which an answer waiting on PostgreSQL is not. `connection: close`
    // has the server close once it has answered.
    socket.write(Buffer.concat([head, ...body]));
  });
}

function parseAnswer(answer: Buffer): Answer {
  let raw = answer;
  // Interim answers (100 Continue to an Expect header) come before the answer.
  while (/^HTTP\/1\.1 1\d\d /.test(raw.subarray(0, 13).toString('latin1'))) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no HTTP answer (${raw.length} bytes)`);
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
  }
  let body = raw.subarray(end + 4);
  if (headers.get('transfer-encoding')?.[0]?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, headers, body };
}

const header = (a: Answer, name: string) => a.headers.get(name)?.[0];
const json = (a: Answer): unknown => JSON.parse(a.body.toString('utf8'));

// ---------------------------------------------------------------------------------------------
// Arbitraries from the document's JSON Schemas: values that validate, and values that do not.

function resolve(schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref === 'string') return resolve(doc.components.schemas[ref.split('/').pop()!] ?? {});
  return schema;
}

/** A value the schema accepts (as far as a generator can: patterns, bounds, enums, nesting). */
function valid(raw: Schema, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key] as Schema[] | undefined;
    if (branches) return fc.oneof(...branches.map((b) => valid(b, depth + 1)));
  }
  if (Array.isArray(schema.allOf)) return valid((schema.allOf as Schema[])[0] ?? {}, depth + 1);
  const type = Array.isArray(schema.type) ? (schema.type as string[])[0] : (schema.type as string | undefined);
  switch (type) {
    case 'string': {
      if (typeof schema.pattern === 'string') return fc.stringMatching(new RegExp(schema.pattern as string), { size: 'xsmall' });
      if (schema.format === 'date-time') return fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
      if (schema.format === 'uri') return fc.webUrl();
      const min = (schema.minLength as number | undefined) ?? 0;
      const max = Math.min((schema.maxLength as number | undefined) ?? 40, min + 40);
      return fc.oneof(...(['grapheme', 'binary', 'grapheme-ascii'] as const).map((unit) => fc.string({ unit, minLength: min, maxLength: max }))).filter((s) => [...s].length >= min && [...s].length <= ((schema.maxLength as number | undefined) ?? Infinity));
    }
    case 'integer':
    case 'number': {
      const min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined) ?? -1e6;
      const max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined) ?? 1e6;
      return fc.integer({ min: Math.ceil(min) + (schema.exclusiveMinimum !== undefined ? 1 : 0), max: Math.floor(max) - (schema.exclusiveMaximum !== undefined ? 1 : 0) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = (schema.minItems as number | undefined) ?? 0;
      return fc.array(depth > 4 ? fc.constant(null) : valid((schema.items as Schema | undefined) ?? {}, depth + 1), { minLength: min, maxLength: Math.min((schema.maxItems as number | undefined) ?? 3, min + 3) });
    }
    case 'object': {
      const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
      const required = new Set((schema.required as string[] | undefined) ?? []);
      if (depth > 4) return fc.constant({});
      const record = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valid(s, depth + 1)]));
      return fc.record(record, { requiredKeys: [...required].filter((k) => k in properties) });
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** A value that breaks the schema somewhere: a wrong type, a required key left out, an unknown key, a bound passed. */
function invalid(raw: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  const wrongType = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }));
  const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
  const keys = Object.keys(properties);
  const options: Array<fc.Arbitrary<unknown>> = [wrongType];
  if (keys.length) {
    const base = valid(schema) as fc.Arbitrary<Record<string, unknown>>;
    options.push(fc.tuple(base, fc.constantFrom(...keys), wrongType).map(([v, k, w]) => ({ ...v, [k]: w })));
    options.push(fc.tuple(base, fc.constantFrom(...keys)).map(([v, k]) => Object.fromEntries(Object.entries(v).filter(([key]) => key !== k))));
    options.push(fc.tuple(base, fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })).map(([v, k, w]) => ({ ...v, [k]: w })));
    options.push(fc.tuple(base, fc.constantFrom(...keys)).map(([v, k]) => ({ ...v, [k]: beyond(resolve(properties[k]!)) })));
  }
  return fc.oneof(...options);
}

/** Just past the schema's bound (a string one longer, an array one item more), or a wrong type where it has none. */
function beyond(schema: Schema): unknown {
  if (typeof schema.maxLength === 'number') return 'x'.repeat(schema.maxLength + 1);
  if (typeof schema.maxItems === 'number') return Array.from({ length: schema.maxItems + 1 }, () => 'io.github.acme/weather@1.0.0');
  if (typeof schema.maximum === 'number') return schema.maximum + 1;
  if (typeof schema.minimum === 'number') return schema.minimum - 1;
  return { unexpected: [true] };
}

// Strings that have broken parsers: unicode edge cases, percent-encoding gone wrong, lengths.
const HOSTILE_TEXT = [
  '',
  ' ',
  '.',
  '..',
  '%',
  '%zz',
  '%E0%A4%A',
  '%00',
  '%C0%80',
  '%ED%A0%80',
  '%EF%BB%BF',
  '%2e%2e',
  '%2F',
  '%252F',
  '\u00e9',
  '\u0065\u0301',
  '\u202e',
  '\ufeff',
  '\u{1F600}',
  '\uff41\uff43\uff4d\uff45',
  'io.github.acme',
  'IO.GITHUB.ACME',
  '*',
  'com.example.*',
  '1.0.0',
  '01.0.0',
  '1.0.0-rc.1+build',
  'latest',
  '-1',
  '0',
  '1e3',
  '9007199254740993',
  '99999999999999999999999',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  "'; DROP TABLE versions; --",
  '<script>',
  '$(id)',
  'a'.repeat(300),
  'a'.repeat(5000),
];

/** What a client may put in one path segment or query value, percent-encoded or raw. */
const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'))) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\p{Cc}\s#?/\\]/gu, 'x')) },
);

/** Path parameter values: the seeded registry's real names, and hostile text. */
function pathValue(name: string): fc.Arbitrary<string> {
  const known: Record<string, string[]> = {
    namespace: ['io.github.acme', 'io.github.other'],
    name: ['weather', 'none'],
    version: ['1.0.0', '1.1.0', '1.2.0', '9.9.9'],
    serverName: ['io.github.acme%2Fweather', 'io.github.acme/weather', 'io.github.acme%2fnone'],
    pattern: ['io.github.acme', 'com.example.*', 'io.github.spare'],
    principal: ['alice', 'spare-reviewer', 'nobody'],
    id: [ids.revoked ?? 'x', '00000000-0000-4000-8000-000000000000'],
    tilePath: ['0/000', '0/000.p/1', 'entries/000.p/1', '0/x001/000', '1/000', '0/000/../000', '0//000', '9/999'],
  };
  return fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...(known[name] ?? ['x'])) }, { weight: 3, arbitrary: text });
}

/** A query string: the operation's own parameters (valid, wrong, repeated), unknown ones, broken encoding. */
function query(op: Operation): fc.Arbitrary<string> {
  const params = (op.parameters ?? []).filter((p) => p.in === 'query');
  const one = (p: { name: string; schema: Schema }) =>
    fc.oneof(
      valid(p.schema).map((v) => [`${p.name}=${encodeURIComponent(String(v))}`]),
      text.map((v) => [`${p.name}=${v}`]),
      fc.tuple(valid(p.schema), text).map(([a, b]) => [`${p.name}=${encodeURIComponent(String(a))}`, `${p.name}=${b}`]),
      fc.constant([p.name]),
      fc.constant([`${p.name}=`]),
    );
  const parts = params.map((p) => fc.option(one(p), { nil: [] as string[], freq: 2 }));
  const extra = fc.option(fc.tuple(text, text).map(([k, v]) => [`${k}=${v}`]), { nil: [] as string[], freq: 3 });
  return fc.tuple(fc.tuple(...parts, extra), fc.boolean(), fc.constantFrom('', '&', '&&', '#frag')).map(([lists, shuffle, tail]) => {
    const all = lists.flat();
    if (shuffle) all.reverse();
    return all.length || tail ? `?${all.join('&')}${tail}` : '';
  });
}

function target(template: string, op: Operation): fc.Arbitrary<{ target: string; elsewhere: boolean }> {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return fc.tuple(fc.tuple(...names.map(pathValue)), query(op)).map(([values, q]) => {
    let path = template;
    names.forEach((n, i) => (path = path.replace(`{${n}}`, values[i]!)));
    // tilePath spans segments by design (docs/api.md); any other value with a slash, or none, names another path.
    // A dot segment ('..', '%2e%2e', …) is resolved away by URL parsing, as RFC 3986 section 5.2.4 says.
    const elsewhere = values.some((v, i) => v === '' || /^(\.|%2e){1,2}$/i.test(v) || (names[i] !== 'tilePath' && v.includes('/')));
    return { target: path + q, elsewhere };
  });
}

/** JSON text that no schema takes as it is: broken syntax, depth, repeated keys, odd encodings. */
const hostileJson = fc.oneof(
  fc.constantFrom('', '{', '{"a":', 'nul', '[1,]', '{"a":1,}', "{'a':1}", '\ufeff{}', '{"refs":["\\ud800"]}', '{"a":"\\u0000"}', '1e999999', '-0', '"\\x41"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}'),
  fc.integer({ min: 65, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 65, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.integer({ min: 1, max: 64 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.constantFrom('{"refs":["a@1"],"refs":["b@1"]}', '{"reason":"x","reason":"y"}', '{"principal":"a","role":"reader","role":"admin"}', '{"manifest":{},"bundle":{},"manifest":{}}', '{"a":{"b":1,"b":2}}'),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/json ; charset=utf-8',
  'application/json;',
  'application/json-seq',
  'application/jsonx',
  'text/plain',
  'text/json',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/timestamp-query',
  '',
  'application/json, text/plain',
];

/** A body, with the headers that go with it: the schema's own, broken, or none at all. */
type Body = { headers: Array<[string, string]>; body?: Buffer; chunked?: boolean };
function body(op: Operation): fc.Arbitrary<Body> {
  const schema = op.requestBody?.content['application/json']?.schema;
  const texts: Array<fc.Arbitrary<Buffer>> = [
    fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    hostileJson.map((t) => Buffer.from(t)),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.constant(Buffer.from([0x7b, 0x22, 0xc0, 0x80, 0x22, 0x3a, 0x31, 0x7d])), // {"<overlong NUL>":1}
  ];
  if (schema) {
    texts.push(valid(schema).map((v) => Buffer.from(JSON.stringify(v))));
    texts.push(valid(schema).map((v) => Buffer.from(JSON.stringify(v))));
    texts.push(invalid(schema).map((v) => Buffer.from(JSON.stringify(v) ?? '0')));
  }
  const type = fc.oneof({ weight: 4, arbitrary: fc.constant(['application/json']) }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES).map((t) => (t ? [t] : [])) }, { weight: 1, arbitrary: fc.constant(['application/json', 'text/plain']) });
  const withBody = fc.tuple(fc.oneof(...texts), type, fc.boolean()).map(([b, types, chunked]) => ({ headers: types.map((t): [string, string] => ['content-type', t]), body: b, chunked }));
  const none = fc.constant<Body>({ headers: [] });
  return schema ? fc.oneof({ weight: 6, arbitrary: withBody }, { weight: 1, arbitrary: none }) : fc.oneof({ weight: 5, arbitrary: none }, { weight: 1, arbitrary: withBody });
}

/** Who asks: every role, no token, and every kind of bad one. */
function authorization(): fc.Arbitrary<Array<[string, string]>> {
  const good = Object.entries(tokens)
    .filter(([k]) => k !== 'admin2')
    .map(([, t]) => t);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...good).map((t): Array<[string, string]> => [['authorization', `Bearer ${t}`]]) },
    { weight: 1, arbitrary: fc.constant<Array<[string, string]>>([]) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer garbage', `Bearer ${'x'.repeat(513)}`, `Bearer ${'A'.repeat(40)}`, `BEARER  ${tokens.admin}`, `Bearer ${tokens.admin} extra`, `Bearer\t${tokens.admin}`, 'Bearer \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9')
        .map((v): Array<[string, string]> => [['authorization', v]]),
    },
    { weight: 1, arbitrary: fc.constant<Array<[string, string]>>([['authorization', `Bearer ${tokens.admin}`], ['authorization', `Bearer ${tokens.reader}`]]) },
  );
}

/** Other headers a hostile client sends: request ids of every shape, forwarded-for junk, a long header. */
const otherHeaders = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Array<[string, string]>>([]) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Array<[string, string]>>(
      [['x-request-id', 'fuzz-request-0001']],
      [['x-request-id', 'a'.repeat(65)]],
      [['x-request-id', 'bad id with spaces']],
      [['x-request-id', '']],
      [['x-forwarded-for', 'not-an-address, ::ffff:999.1.1.1, 10.0.0.1']],
      [['x-long', 'y'.repeat(8 * 1024)]],
      [['accept', 'application/xml']],
      [['user-agent', 'a'], ['user-agent', 'b']],
      [['expect', '100-continue']],
    ),
  },
);

function request(o: Op): fc.Arbitrary<Request> {
  return fc.tuple(target(o.template, o.op), body(o.op), authorization(), otherHeaders).map(([t, b, auth, other]) => ({
    method: o.method.toUpperCase(),
    target: t.target,
    elsewhere: t.elsewhere,
    headers: [...auth, ...b.headers, ...other],
    body: b.body,
    chunked: b.chunked ?? false,
  }));
}

// ---------------------------------------------------------------------------------------------
// The contract.

const ajv = new Ajv2020({ strict: false, allErrors: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validators = new Map<Schema, ValidateFunction>();
function validator(schema: Schema): ValidateFunction {
  let v = validators.get(schema);
  if (!v) validators.set(schema, (v = ajv.compile({ ...schema, components: doc.components })));
  return v;
}

/**
 * Row counts of every table but the transparency log's: the log signs its checkpoints on its own
 * timer and on reads, each time appending the audit chain's head when the log lacks it
 * (sign-checkpoint.ts), so its tables grow after the request that caused it.
 */
let countAll: string | undefined;
async function counts(): Promise<Record<string, number>> {
  if (!countAll) {
    const tables = await db.raw.all<{ name: string }>(
      db.raw.dialect === 'sqlite'
        ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'log\\_%' ESCAPE '\\' ORDER BY name"
        : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'log\\_%' ESCAPE '\\' ORDER BY table_name",
    );
    countAll = `SELECT ${tables.map(({ name }) => `(SELECT count(*) FROM "${name}") AS "${name}"`).join(', ')}`;
  }
  // PostgreSQL's count(*) is a bigint, which its driver hands over as a string.
  return Object.fromEntries(Object.entries((await db.raw.get<Record<string, number | string>>(countAll))!).map(([k, v]) => [k, Number(v)]));
}

function describeRequest(req: Request): string {
  const auth = req.headers.find(([k]) => k === 'authorization')?.[1];
  const role = Object.entries(tokens).find(([, t]) => auth?.endsWith(t))?.[0];
  return `${req.method} ${req.target.slice(0, 300)} [${role ?? (auth ? `auth ${JSON.stringify(auth.slice(0, 40))}` : 'no token')}] ${JSON.stringify(req.headers.filter(([k]) => k !== 'authorization').map(([k, v]) => `${k}: ${v.slice(0, 60)}`))} body ${req.body ? JSON.stringify(req.body.subarray(0, 200).toString('utf8')) + ` (${req.body.length} bytes${req.chunked ? ', chunked' : ''})` : 'none'}`;
}

/** Every refusal's shape, whatever answered it. */
function checkProblem(a: Answer, where: string): { code: string } {
  expect(header(a, 'content-type'), where).toBe('application/problem+json');
  const p = json(a) as Record<string, unknown>;
  expect(typeof p.code === 'string' && codes.has(p.code), `${where}: code ${String(p.code)}`).toBe(true);
  expect(codes.get(p.code as string), `${where}: ${String(p.code)} answered ${a.status}`).toBe(a.status);
  expect(p.status, where).toBe(a.status);
  expect(typeof p.detail === 'string' && (p.detail as string).length >= 10, `${where}: detail ${String(p.detail)}`).toBe(true);
  expect(typeof p.requestId === 'string' && p.requestId.length > 0, where).toBe(true);
  expect(p.requestId, where).toBe(header(a, 'x-request-id'));
  return p as { code: string };
}

let before: Record<string, number>;

/** Sends one request and holds its answer to the contract of `o`. */
async function check(o: Op | undefined, req: Request): Promise<Answer> {
  const a = await send(req);
  const where = `${describeRequest(req)} -> ${a.status} ${a.body.subarray(0, 300).toString('utf8')}`;
  expect(a.status, where).toBeGreaterThanOrEqual(200);
  expect(a.status, where).toBeLessThan(500);
  expect(header(a, 'x-request-id'), where).toBeTruthy();
  expect(header(a, 'x-content-type-options'), where).toBe('nosniff');
  if (o && !req.elsewhere) expect(Object.keys(o.op.responses), `${where}: not a documented status of ${o.op.operationId}`).toContain(String(a.status));
  const after = await counts();
  if (a.status >= 400) {
    const { code } = checkProblem(a, where);
    // A refused role is audited (docs/api.md, "Authentication and roles"): one row, nothing else.
    const expected = code === 'FORBIDDEN' ? { ...before, audit_events: before.audit_events! + (after.audit_events! - before.audit_events! === 1 ? 1 : 0) } : before;
    const changed = Object.keys(after).filter((k) => after[k] !== expected[k]).map((k) => `${k} ${expected[k]} -> ${after[k]}`);
    if (after.audit_events !== expected.audit_events) changed.push(JSON.stringify(await db.raw.all('SELECT seq, actor, action, subject FROM audit_events WHERE seq > ? ORDER BY seq', [before.audit_events! - 3])));
    if (changed.length) throw new Error(`${where}: a refusal changed rows: ${changed.join("; ")}`);
    if (code === 'FORBIDDEN' && after.audit_events !== before.audit_events) {
      const last = await db.raw.get<{ action: string }>('SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1');
      expect(last?.action, where).toBe('auth.forbidden');
    }
  } else if (o && !req.elsewhere && a.status !== 204) {
    const type = (header(a, 'content-type') ?? '').split(';')[0]!;
    const documented = o.op.responses[String(a.status)]?.content?.[type];
    expect(documented, `${where}: media type ${type} not documented`).toBeDefined();
    if (documented?.schema && type.endsWith('json')) {
      const v = validator(documented.schema);
      expect(v(json(a)), `${where}: ${JSON.stringify(v.errors)}`).toBe(true);
    }
    if (req.method === 'GET') expect(Object.keys(after).filter((k) => after[k] !== before[k]), `${where}: a read changed rows`).toEqual([]);
  }
  before = after;
  return a;
}

// ---------------------------------------------------------------------------------------------

async function api(method: string, path: string, token: string | undefined, payload?: unknown): Promise<Answer> {
  return send({
    method,
    target: path,
    headers: [...(token ? ([['authorization', `Bearer ${token}`]] as Array<[string, string]>) : []), ...(payload !== undefined ? ([['content-type', 'application/json']] as Array<[string, string]>) : [])],
    body: payload !== undefined ? Buffer.from(JSON.stringify(payload)) : undefined,
  });
}
async function ok(method: string, path: string, token: string | undefined, payload?: unknown): Promise<unknown> {
  const a = await api(method, path, token, payload);
  if (a.status >= 300) throw new Error(`${method} ${path}: ${a.status} ${a.body.toString()}`);
  return a.status === 204 ? undefined : json(a);
}

/** A registry on `dialect` with a version in each state, a registered reviewer and a token for every role; and a rate-limited one. */
async function setup(dialect: TestDialect): Promise<void> {
  countAll = undefined;
  for (const k of Object.keys(tokens)) delete tokens[k];
  [store, limitedStore] = await Promise.all([createTestStore(join(dir, dialect, 'registry'), dialect), createTestStore(join(dir, dialect, 'limited'), dialect)]);
  const fast = { SIGIL_RATE_LIMIT_TOKEN: '100000000', SIGIL_RATE_LIMIT_ADDRESS: '100000000', SIGIL_BODY_LIMIT: String(BODY_LIMIT) };
  [registry, limited] = await Promise.all([
    startRegistry({ dataDir: join(dir, dialect, 'registry'), env: { ...store.env, ...fast } }),
    startRegistry({ dataDir: join(dir, dialect, 'limited'), env: { ...limitedStore.env, SIGIL_RATE_LIMIT_TOKEN: '5', SIGIL_RATE_LIMIT_ADDRESS: '8' } }),
  ]);
  port = Number(new URL(registry.url).port);
  db = await openStore(store);
  doc = (await ok('GET', '/openapi.json', undefined)) as OpenApi;
  codes = new Map([...doc.info.description.matchAll(/\b([A-Z][A-Z_]+) (\d{3})\b/g)].map((m) => [m[1]!, Number(m[2])]));

  // A registry with a version in each state, a registered reviewer and a token for every role.
  tokens.admin = registry.adminToken;
  const create = async (principal: string, role: string, namespaces: string[] = []) => (await ok('POST', '/v1/tokens', tokens.admin, { principal, role, namespaces })) as { token: string; id: string };
  tokens.security = (await create('alice', 'security')).token;
  tokens.publisher = (await create('acme-ci', 'publisher', ['io.github.acme'])).token;
  tokens.otherPublisher = (await create('other-ci', 'publisher', ['io.github.other'])).token;
  tokens.reader = (await create('host', 'reader')).token;
  const revoked = await create('gone', 'reader');
  ids.revoked = revoked.id;
  tokens.revoked = revoked.token;
  await ok('DELETE', `/v1/tokens/${revoked.id}`, tokens.admin);
  const expired = await create('late', 'reader');
  tokens.expired = expired.token;
  await db.raw.run('UPDATE tokens SET expires_at = ? WHERE id = ?', ['2001-01-01T00:00:00.000Z', expired.id]);

  const publisherKey = generateKeyPair();
  const aliceKey = generateKeyPair();
  await ok('PUT', '/v1/allowlist/io.github.acme', tokens.admin, { signers: [{ publicKey: publisherKey.publicKeyPem }] });
  await ok('POST', '/v1/reviewers', tokens.admin, { principal: 'alice', publicKey: aliceKey.publicKeyPem });
  const signer = createSigner({ privateKey: publisherKey.privateKeyPem });
  publisherSigner = signer;
  for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
    const manifest = weatherManifest({ version });
    const published = (await ok('POST', '/v1/publish', tokens.publisher, { manifest, bundle: await signManifestStatement(manifest, signer) })) as { risk: 'low' | 'high' };
    if (version === '1.0.0') {
      const approval = await signApprovalStatement({ name: manifest.name, version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk: published.risk }, createSigner({ privateKey: aliceKey.privateKeyPem }));
      await ok('POST', `/v1/servers/io.github.acme/weather/versions/${version}/approvals`, tokens.security, { bundle: approval });
    }
  }
  // The log signs its checkpoint on its own schedule: wait until it covers the entries.
  for (let i = 0; i < 50 && (await api('GET', '/v1/log/proof?leaf=0', tokens.reader)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  before = await counts();
}

async function teardown(): Promise<void> {
  await Promise.all([registry?.stop(), limited?.stop()]);
  await db?.close();
  await Promise.all([store?.drop(), limitedStore?.drop()]);
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const operations = (): Op[] => Object.entries(doc.paths).flatMap(([template, ops]) => Object.entries(ops).map(([method, op]) => ({ method, template, op })));

/** Every case below, against a registry on `dialect`, `runs` generated requests per operation. */
function suite(dialect: TestDialect, runs: number): void {
  beforeAll(() => setup(dialect), 120_000);
  afterAll(teardown);

  describe('when every operation of /openapi.json gets generated hostile requests', () => {
    it('answers each within the documented contract, and a refusal changes nothing', async () => {
      expect(operations().length).toBeGreaterThan(30);
      // Every operation runs its own seeded property; the failures of all of them are reported together.
      const failures: string[] = [];
      for (const o of operations().filter((x) => !process.env.SIGIL_FUZZ_OP || `${x.method} ${x.template}`.includes(process.env.SIGIL_FUZZ_OP))) {
        const result = await fc.check(
          fc.asyncProperty(request(o), async (req) => {
            await check(o, req);
          }),
          { seed: SEED, numRuns: runs, endOnFailure: true },
        );
        if (result.failed) failures.push(`${o.method.toUpperCase()} ${o.template} (${dialect}, seed ${SEED}, runs ${runs}, path ${result.counterexamplePath}): ${String((result.errorInstance as Error | undefined)?.message ?? result.errorInstance).split('\n')[0]}`);
        before = await counts();
      }
      expect(failures).toEqual([]);
      // The audit chain still verifies from its first event.
      const verify = json(await api('GET', '/v1/audit/verify', tokens.admin)) as { ok: boolean };
      expect(verify.ok).toBe(true);
    }, 300_000);
  });

  describe('when a request passes a documented limit', () => {
    const bodies = () => operations().filter((o) => o.op.requestBody?.content['application/json']);
    // Operations that take JSON and nothing else read it through the one JSON gate (kit.ts jsonBody).
    const jsonOnly = () => bodies().filter((o) => Object.keys(o.op.requestBody!.content).length === 1);

    it('a body over SIGIL_BODY_LIMIT is 413 PAYLOAD_TOO_LARGE, with a length or chunked', async () => {
      for (const o of bodies())
        for (const chunked of [false, true]) {
          const target = o.template.replace(/\{(\w+)\}/g, (_m, n: string) => ({ namespace: 'io.github.acme', name: 'weather', version: '1.1.0', pattern: 'io.github.acme' })[n] ?? 'x');
          const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) }));
          const a = await check(o, { method: o.method.toUpperCase(), target, headers: [['authorization', `Bearer ${tokens.admin}`], ['content-type', 'application/json']], body: big, chunked });
          expect(checkProblem(a, `${o.method} ${o.template}`).code).toBe('PAYLOAD_TOO_LARGE');
        }
    });

    it('a body nested deeper than 64 is 413 PAYLOAD_TOO_LARGE; an array past maxItems or a string past maxLength is 422', async () => {
      for (const o of jsonOnly()) {
        const target = o.template.replace(/\{(\w+)\}/g, (_m, n: string) => ({ namespace: 'io.github.acme', name: 'weather', version: '1.1.0', pattern: 'io.github.acme' })[n] ?? 'x');
        // Authentication and role come before the body is read: the first role the operation lets in.
        let headers: Array<[string, string]> = [];
        let deep: Answer | undefined;
        for (const role of ['admin', 'security', 'publisher', 'reader']) {
          headers = [['authorization', `Bearer ${tokens[role]}`], ['content-type', 'application/json']];
          deep = await check(o, { method: o.method.toUpperCase(), target, headers, body: Buffer.from(`{"a":${'['.repeat(70)}${']'.repeat(70)}}`) });
          if (deep.status !== 403) break;
        }
        expect(checkProblem(deep!, `${o.method} ${o.template}`).code).toBe('PAYLOAD_TOO_LARGE');
        const schema = resolve(o.op.requestBody!.content['application/json']!.schema!);
        for (const [key, property] of Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {})) {
          const p = resolve(property);
          if (typeof p.maxItems !== 'number' && typeof p.maxLength !== 'number') continue;
          const sample = fc.sample(valid(schema), { seed: SEED, numRuns: 1 })[0] as Record<string, unknown>;
          const payload = Buffer.from(JSON.stringify({ ...sample, [key]: beyond(p) }));
          const a = await check(o, { method: o.method.toUpperCase(), target, headers, body: payload });
          // A bound larger than the body limit meets the body limit first.
          expect(checkProblem(a, `${o.method} ${o.template} ${key}`).code).toBe(payload.length > BODY_LIMIT ? 'PAYLOAD_TOO_LARGE' : 'REQUEST_INVALID');
        }
      }
    });

    it('the timestamp route (JSON or DER, not the shared JSON gate) holds the same JSON limits and its own size, with documented codes', async () => {
      const o = operations().find((x) => x.template === '/api/v1/timestamp')!;
      const post = (body: string | Buffer, type?: string) => check(o, { method: 'POST', target: '/api/v1/timestamp', headers: type === undefined ? [] : [['content-type', type]], body: Buffer.from(body) });
      const hash = Buffer.alloc(32, 7).toString('base64');
      const code = (a: Answer, what: string) => checkProblem(a, what).code;
      // Answered: a well-formed request, as JSON (with or without a type) and as DER.
      expect((await post(JSON.stringify({ artifactHash: hash, hashAlgorithm: 'sha256' }), 'application/json')).status).toBe(200);
      expect((await post(JSON.stringify({ artifactHash: hash, hashAlgorithm: 'sha256' }))).status).toBe(200);
      // TimeStampReq { version 1, messageImprint { sha256 AlgorithmIdentifier, 32-byte OCTET STRING } }
      const der = Buffer.concat([Buffer.from('30360201013031300d060960864801650304020105000420', 'hex'), Buffer.alloc(32, 7)]);
      expect((await post(der, 'application/timestamp-query')).status).toBe(200);
      // A key twice: JSON.parse keeps the last, another reader the first (as on every JSON route).
      expect(code(await post(`{"artifactHash":"${hash}","hashAlgorithm":"sha512","hashAlgorithm":"sha256"}`, 'application/json'), 'duplicate key')).toBe('REQUEST_INVALID');
      expect(code(await post(`{"artifactHash":"${hash}","hashAlgorithm":"sha256","nonce":1,"nonce":2}`), 'duplicate key, no type')).toBe('REQUEST_INVALID');
      // Nested deeper than 64, inside the route's own 4096-byte bound: 413 as on every JSON route.
      expect(code(await post(`{"artifactHash":${'['.repeat(70)}${']'.repeat(70)}}`, 'application/json'), 'deep')).toBe('PAYLOAD_TOO_LARGE');
      // Over the route's 4096 bytes (less than SIGIL_BODY_LIMIT): 413, JSON or DER.
      expect(code(await post(JSON.stringify({ artifactHash: hash, hashAlgorithm: 'sha256', pad: 'x'.repeat(4100) }), 'application/json'), 'large JSON')).toBe('PAYLOAD_TOO_LARGE');
      expect(code(await post(Buffer.alloc(4097, 0x30), 'application/timestamp-query'), 'large DER')).toBe('PAYLOAD_TOO_LARGE');
      // Broken syntax is 400; a type that is neither JSON nor a TimeStampReq is 415, as documented.
      expect(code(await post('{"artifactHash":', 'application/json'), 'syntax')).toBe('BAD_REQUEST');
      expect(code(await post(der, 'text/plain'), 'text/plain')).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(code(await post(JSON.stringify({ artifactHash: hash, hashAlgorithm: 'sha256' }), 'application/json ; charset=utf-8'), 'loose JSON type')).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('a path parameter past its maxLength is 422 REQUEST_INVALID, a status each such operation documents', async () => {
      let checked = 0;
      for (const o of operations())
        for (const p of (o.op.parameters ?? []).filter((x) => x.in === 'path' && typeof resolve(x.schema).maxLength === 'number')) {
          const target = o.template.replace(`{${p.name}}`, 'a'.repeat((resolve(p.schema).maxLength as number) + 1)).replace(/\{(\w+)\}/g, 'x');
          let a: Answer | undefined;
          for (const role of ['admin', 'security', 'publisher', 'reader']) {
            a = await check(o, { method: o.method.toUpperCase(), target, headers: [['authorization', `Bearer ${tokens[role]}`], ['content-type', 'application/json']], body: o.method === 'get' ? undefined : Buffer.from('{}') });
            if (a.status !== 403) break;
          }
          expect(checkProblem(a!, `${o.method} ${o.template} ${p.name}`).code).toBe('REQUEST_INVALID');
          checked++;
        }
      expect(checked).toBeGreaterThan(0);
    });

    it('past the rate limit every operation answers 429 RATE_LIMITED with Retry-After', async () => {
      const limitedPort = Number(new URL(limited.url).port);
      for (const o of operations()) {
        const target = o.template.replace(/\{(\w+)\}/g, 'x');
        let last: Answer | undefined;
        for (let i = 0; i < 10 && last?.status !== 429; i++) last = await send({ method: o.method.toUpperCase(), target, headers: [] }, limitedPort);
        expect(last!.status, `${o.method} ${o.template}`).toBe(429);
        expect(checkProblem(last!, `${o.method} ${o.template}`).code).toBe('RATE_LIMITED');
        expect(Number(header(last!, 'retry-after'))).toBeGreaterThan(0);
      }
    });
  });

  describe('when the database races or refuses a write', () => {
    it('concurrent publishes of one version: one 201, identical replays 200, another digest 409 VERSION_EXISTS, one row', async () => {
      const same = weatherManifest({ version: '3.0.0' });
      const other = weatherManifest({ version: '3.0.0', description: 'Another text under the same version' });
      const bodies = await Promise.all([same, other].map(async (manifest) => ({ manifest, bundle: await signManifestStatement(manifest, publisherSigner) })));
      const order = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0];
      const answers = await Promise.all(order.map((i) => api('POST', '/v1/publish', tokens.publisher, bodies[i])));
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      const winner = order[answers.findIndex((a) => a.status === 201)]!;
      answers.forEach((a, n) => {
        const where = `publish ${n} (${order[n] === winner ? 'same digest' : 'other digest'}) -> ${a.status} ${a.body.toString().slice(0, 200)}`;
        if (a.status === 201) return;
        if (order[n] === winner) expect(a.status, where).toBe(200);
        else expect(checkProblem(a, where).code).toBe('VERSION_EXISTS');
      });
      expect(Number((await db.raw.get<{ n: number | string }>("SELECT count(*) AS n FROM versions WHERE server = 'io.github.acme/weather' AND version = '3.0.0'"))!.n)).toBe(1);
      before = await counts();
    });

    it('a write the database refuses (a trigger) is 500 INTERNAL with no database text, and changes no row', async () => {
      const message = 'probe_refuse: tokens_secret_hash_idx violated in INSERT INTO tokens';
      if (db.raw.dialect === 'sqlite') await db.raw.run(`CREATE TRIGGER probe_refuse BEFORE INSERT ON tokens BEGIN SELECT RAISE(ABORT, '${message}'); END`);
      else {
        await db.raw.run(`CREATE FUNCTION probe_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}' USING ERRCODE = '23505', CONSTRAINT = 'tokens_secret_hash_idx'; END $$`);
        await db.raw.run('CREATE TRIGGER probe_refuse BEFORE INSERT ON tokens FOR EACH ROW EXECUTE FUNCTION probe_refuse()');
      }
      try {
        const start = await counts();
        const a = await api('POST', '/v1/tokens', tokens.admin, { principal: 'probe', role: 'reader', namespaces: [] });
        expect(a.status).toBe(500);
        expect(checkProblem(a, 'refused insert').code).toBe('INTERNAL');
        expect(a.body.toString()).not.toMatch(/probe_refuse|tokens_secret_hash_idx|INSERT|SQLITE|constraint|violat/i);
        expect(await counts()).toEqual(start);
      } finally {
        await db.raw.run(`DROP TRIGGER probe_refuse${db.raw.dialect === 'sqlite' ? '' : ' ON tokens'}`);
        if (db.raw.dialect !== 'sqlite') await db.raw.run('DROP FUNCTION probe_refuse()');
      }
      before = await counts();
    });
  });
}

describe('on SQLite', () => suite('sqlite', RUNS));
describe('on PostgreSQL', () => suite('postgres', PG_RUNS));
