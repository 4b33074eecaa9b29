import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { openStore, type Store } from '@sigil/db';
import { createCa, createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';
import { createTestStore, repoRoot, type TestStore, weatherManifest } from '@sigil/testing';
import openapiTS, { astToString } from 'openapi-typescript';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';
import { bootstrapAdmin, createToken } from './services/create-token.js';
import { manifestDigest } from '@sigil/manifest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'sigil-contract-'));
const ADMIN = 'contract-test-admin-token-0000000';
let store: TestStore;
let database: Store;
let app: App;
let doc: Record<string, unknown>;
const tokens = {} as { publisher: string; alice: string; reader: string; spare: string; spareId: string };
const publisherKey = generateKeyPair();
const aliceKey = generateKeyPair();

type Answer = { method: string; template: string; status: number; type: string; body: unknown; retryAfter: boolean };
const answers: Answer[] = [];

/** Calls the app and keeps the answer for the type check, keyed by the documented path template. */
async function record(method: string, template: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const res = await app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  const answer = { method, template, status: res.status, type, body: type.includes('json') && text ? (JSON.parse(text) as unknown) : text, retryAfter: res.headers.has('retry-after') };
  answers.push(answer);
  return answer;
}

beforeAll(async () => {
  store = await createTestStore(dir);
  database = await openStore(store);
  const deps = {
    db: database.db,
    keys: await loadRegistryKeys(join(dir, 'keys')),
    settings: { ...DEFAULT_SETTINGS, anonymousRead: true },
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    linter: createLinter(),
  };
  await bootstrapAdmin(deps, ADMIN);
  app = createApp(deps);
  const admin = { name: 'admin', role: 'admin' as const, namespaces: [], tokenId: null };
  tokens.publisher = (await createToken(deps, admin, { principal: 'acme-ci', role: 'publisher', namespaces: ['io.github.acme'] })).token;
  tokens.alice = (await createToken(deps, admin, { principal: 'alice', role: 'security' })).token;
  tokens.reader = (await createToken(deps, admin, { principal: 'host', role: 'reader' })).token;
  const spare = await createToken(deps, admin, { principal: 'spare', role: 'reader' });
  tokens.spare = spare.token;
  tokens.spareId = spare.id;
  doc = (await (await app.request('http://127.0.0.1:8787/openapi.json')).json()) as Record<string, unknown>;

  // A registry with one version in every state, and an answer from every documented operation.
  const v = '/v1/servers/io.github.acme/weather/versions';
  const T = '/v1/servers/{namespace}/{name}/versions/{version}';
  await record('put', '/v1/allowlist/{pattern}', '/v1/allowlist/io.github.acme', ADMIN, { signers: [{ publicKey: publisherKey.publicKeyPem }] });
  await record('put', '/v1/allowlist/{pattern}', '/v1/allowlist/io.github.gone', ADMIN, { signers: [{ identity: 'mailto:ci@gone.example' }] });
  await record('post', '/v1/reviewers', '/v1/reviewers', ADMIN, { principal: 'alice', publicKey: aliceKey.publicKeyPem });
  await record('post', '/v1/reviewers', '/v1/reviewers', ADMIN, { principal: 'gone', identity: 'mailto:gone@acme.example' });
  await record('get', '/v1/reviewers', '/v1/reviewers', tokens.alice);
  await record('delete', '/v1/reviewers/{principal}', '/v1/reviewers/gone', ADMIN);
  await record('delete', '/v1/reviewers/{principal}', '/v1/reviewers/gone', ADMIN); // the 404
  await record('post', '/v1/certificate-authorities', '/v1/certificate-authorities', ADMIN, { certificates: createCa({ name: 'Contract CA' }).chainPem });
  await record('post', '/api/v1/timestamp', '/api/v1/timestamp', undefined, { artifactHash: Buffer.alloc(32, 7).toString('base64'), hashAlgorithm: 'sha256' });
  const signer = createSigner({ privateKey: publisherKey.privateKeyPem });
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) {
    const manifest = weatherManifest({ version });
    const bundle = await signManifestStatement(manifest, signer);
    await record('post', '/v1/publish', '/v1/publish', tokens.publisher, { manifest, bundle });
    if (version === '1.0.0') await record('post', '/v1/publish', '/v1/publish', tokens.publisher, { manifest, bundle }); // the 200 replay
  }
  for (const version of ['1.0.0', '1.1.0']) {
    const manifest = weatherManifest({ version });
    const risk = (answers.find((a) => a.template === '/v1/publish' && (a.body as { version?: string }).version === version)!.body as { risk: 'low' | 'high' }).risk;
    const approval = await signApprovalStatement({ name: manifest.name, version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk }, createSigner({ privateKey: aliceKey.privateKeyPem }));
    await record('post', `${T}/approvals`, `${v}/${version}/approvals`, tokens.alice, { bundle: approval });
  }
  await record('post', `${T}/revocations`, `${v}/1.1.0/revocations`, tokens.alice, { reason: 'a compromised release' });
  await record('post', `${T}/rejections`, `${v}/1.2.0/rejections`, tokens.alice, { reason: 'not what was asked for' });
  for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) await record('get', T, `${v}/${version}`, tokens.reader);
  await record('get', `${T}/review`, `${v}/1.3.0/review`, tokens.alice);
  await record('get', `${T}/review`, `${v}/1.0.0/review`, tokens.alice);
  await record('get', '/v1/servers/{namespace}/{name}', '/v1/servers/io.github.acme/weather', undefined);
  await record('get', '/v1/servers', '/v1/servers?limit=1', undefined);
  await record('get', '/v1/servers', '/v1/servers?search=nothing-like-this', tokens.reader);
  await record('post', '/v1/status', '/v1/status', undefined, { refs: ['io.github.acme/weather@1.0.0', 'io.github.acme/weather@1.1.0', 'io.github.acme/none@1.0.0'], nonce: 'contract-test-nonce-0001' });
  for (const status of ['pending', 'approved', 'rejected', 'revoked']) await record('get', '/v1/reviews', `/v1/reviews?status=${status}`, tokens.alice);
  await record('get', '/v1/allowlist', '/v1/allowlist', ADMIN);
  await record('get', '/v1/allowlist/{pattern}', '/v1/allowlist/io.github.acme', tokens.alice);
  await record('delete', '/v1/allowlist/{pattern}', '/v1/allowlist/io.github.gone', ADMIN);
  await record('post', '/v1/tokens', '/v1/tokens', ADMIN, { principal: 'bob', role: 'security', ttlSeconds: 3600 });
  await record('get', '/v1/tokens', '/v1/tokens', ADMIN);
  await record('delete', '/v1/tokens/{id}', `/v1/tokens/${tokens.spareId}`, ADMIN);
  await record('get', '/v1/whoami', '/v1/whoami', tokens.publisher);
  await record('get', '/v1/audit', '/v1/audit?limit=5', ADMIN);
  await record('get', '/v1/audit/verify', '/v1/audit/verify', ADMIN);
  await record('get', '/v1/keys', '/v1/keys', undefined);
  await record('get', '/v1/trusted-root', '/v1/trusted-root', undefined);
  await record('get', '/v1/log/checkpoint', '/v1/log/checkpoint', undefined);
  await record('get', '/v1/log/proof', '/v1/log/proof?leaf=0', undefined);
  await record('get', '/v1/log/consistency', '/v1/log/consistency?from=1', undefined);
  expect((await record('get', '/v1/log/tile/{tilePath}', '/v1/log/tile/0/000.p/1', undefined)).status).toBe(200);
  expect((await record('get', '/v1/log/tile/{tilePath}', '/v1/log/tile/entries/000.p/1', undefined)).status).toBe(200);
  expect((await record('get', '/v1/log/tile/{tilePath}', '/v1/log/tile/0/x999/000', undefined)).status).toBe(404);
  expect((await record('get', '/v1/log/tile/{tilePath}', '/v1/log/tile/0/%30%30%30', undefined)).status).toBe(422);
  await record('post', '/v1/log/proofs', '/v1/log/proofs', undefined, { refs: ['io.github.acme/weather@1.2.0', 'io.github.acme/weather@9.9.9'] });
  await record('get', '/v0.1/servers', '/v0.1/servers?version=latest', undefined);
  await record('get', '/v0.1/servers/{serverName}/versions', `/v0.1/servers/${encodeURIComponent('io.github.acme/weather')}/versions`, undefined);
  await record('get', '/v0.1/servers/{serverName}/versions/{version}', `/v0.1/servers/${encodeURIComponent('io.github.acme/weather')}/versions/latest`, undefined);
  await record('get', '/v0.1/servers/{serverName}/versions/{version}', `/v0.1/servers/${encodeURIComponent('io.github.acme/weather')}/versions/1.2.0`, undefined);
  await record('get', '/healthz', '/healthz', undefined);
  await record('get', '/readyz', '/readyz', undefined);
  await record('get', '/openapi.json', '/openapi.json', undefined);
  await record('get', '/docs', '/docs', undefined);
  await record('get', '/metrics', '/metrics', undefined);
  // Refusals: each documented as a problem.
  await record('get', T, `${v}/9.9.9`, tokens.reader);
  await record('post', '/v1/publish', '/v1/publish', tokens.reader, { manifest: {}, bundle: {} });
  await record('get', '/v1/audit', '/v1/audit?limit=0', ADMIN);
  await record('post', '/v1/status', '/v1/status', undefined, { refs: [] });
});

afterAll(async () => {
  await database?.close();
  await store?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Operation = { operationId?: string; security?: unknown[]; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };
const operations = () =>
  Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

describe('when stock OpenAPI tools read /openapi.json', () => {
  it('Redocly lint (recommended rules) reports no error', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const bin = join(repoRoot(), 'node_modules/.bin/redocly');
    const out = await run(bin, ['lint', file, '--format=json'], { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, maxBuffer: 16 * 1024 * 1024 }).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    const report = JSON.parse(out.stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; severity: string; message: string }> };
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.totals.errors).toBe(0);
  }, 60_000);

  it('swagger-parser validates it, references and all', async () => {
    const api = await SwaggerParser.validate(structuredClone(doc) as never);
    expect(Object.keys(api.paths ?? {})).toContain('/v1/publish');
  });

  it('names a server, a security scheme applied per operation, an operationId and a response schema for every operation', () => {
    expect((doc.servers as Array<{ url: string }>)[0]?.url).toBe('http://127.0.0.1:8787');
    expect(JSON.stringify(doc)).not.toContain('#/$defs/');
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-zA-Z]+$/);
      ids.add(op.operationId!);
      expect(Array.isArray(op.security), `${method} ${path} security`).toBe(true);
      const ok = Object.entries(op.responses).filter(([s]) => s.startsWith('2'));
      expect(ok.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [status, r] of ok) if (status !== '204') expect(Object.values(r.content ?? {})[0]?.schema, `${method} ${path} ${status}`).toBeDefined();
    }
    expect(ids.size).toBe(operations().length);
  });

  it('documents every answer the routes gave, with its status and media type', () => {
    for (const a of answers) {
      const op = (doc.paths as Record<string, Record<string, Operation>>)[a.template]?.[a.method];
      expect(op, `${a.method} ${a.template}`).toBeDefined();
      const documented = op!.responses[String(a.status)];
      expect(documented, `${a.method} ${a.template} answered ${a.status}`).toBeDefined();
      if (a.status === 204) continue;
      expect(Object.keys(documented!.content ?? {}), `${a.method} ${a.template} ${a.status}`).toContain(a.type.split(';')[0]);
      // A header the answer carries for the client to act on is in the document too.
      if (a.retryAfter) expect(Object.keys((documented as { headers?: object }).headers ?? {}), `${a.method} ${a.template} ${a.status}`).toContain('Retry-After');
    }
    // Every refusal that says "see Retry-After" declares it, on every operation.
    for (const { path, method } of operations()) {
      const responses = (doc.paths as Record<string, Record<string, Operation>>)[path]![method]!.responses as Record<string, { headers?: object }>;
      for (const status of ['429', '503']) expect(Object.keys(responses[status]?.headers ?? {}), `${method} ${path} ${status}`).toContain('Retry-After');
    }
    // Every documented operation was called at least once.
    const called = new Set(answers.map((a) => `${a.method} ${a.template}`));
    const missing = operations()
      .filter(({ path, method }) => !called.has(`${method} ${path}`))
      .map(({ path, method }) => `${method} ${path}`);
    expect(missing).toEqual([]);
  });

  it('openapi-typescript generates types that every real JSON answer compiles against', async () => {
    const out = join(dir, 'client');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'api.ts'), astToString(await openapiTS(structuredClone(doc) as never)));
    const lines = [
      "import type { paths } from './api.js';",
      'type Body<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R } ? S extends keyof R ? R[S] extends { content: infer C } ? C[keyof C] : never : never : never;',
    ];
    answers.forEach((a, i) => {
      if (typeof a.body === 'string') return; // text, HTML and empty answers
      lines.push(`export const a${i}: Body<${JSON.stringify(a.template)}, ${JSON.stringify(a.method)}, ${a.status}> = ${JSON.stringify(a.body)};`);
    });
    writeFileSync(join(out, 'answers.ts'), `${lines.join('\n')}\n`);
    writeFileSync(join(out, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', skipLibCheck: true }, files: ['answers.ts'] }));
    const tsc = join(repoRoot(), 'node_modules/.bin/tsc');
    const result = await run(tsc, ['-p', join(out, 'tsconfig.json')], { maxBuffer: 16 * 1024 * 1024 }).catch((e: { stdout: string }) => ({ stdout: e.stdout, failed: true }));
    expect(result.stdout).toBe('');
    expect(answers.filter((a) => typeof a.body !== 'string').length).toBeGreaterThan(30);
  }, 120_000);

  it('refuses a type check when an answer carries a field the document does not describe', async () => {
    // The same check must be able to fail: an undocumented field is an excess property.
    const out = join(dir, 'client');
    writeFileSync(join(out, 'answers.ts'), "import type { paths } from './api.js';\nexport const x: paths['/healthz']['get']['responses'][200]['content']['application/json'] = { ok: true, latest: 1 };\n");
    const tsc = join(repoRoot(), 'node_modules/.bin/tsc');
    const result = await run(tsc, ['-p', join(out, 'tsconfig.json')]).then(
      () => '',
      (e: { stdout: string }) => e.stdout,
    );
    expect(result).toContain('latest');
  }, 120_000);
});
