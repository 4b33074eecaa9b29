import { startRegistry, weatherManifest, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeWorld } from './acme-world.js';

// The log's read routes over HTTP on the real registry process, asked with hostile values: every
// answer is a 200 with what was asked, or a problem with a stable code (never a 500, never an
// alias of another size).
let registry: RegistryProcess;
const world = acmeWorld('sigil-log-hostile-', () => registry);
const { tokens } = world;
let size = 0;

async function get(path: string): Promise<{ status: number; code?: string; body: unknown }> {
  const r = await fetch(`${registry.url}${path}`, { headers: { authorization: `Bearer ${tokens.reader}` } });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text/plain or octet-stream
  }
  return { status: r.status, code: (body as { code?: string } | undefined)?.code, body };
}
async function post(path: string, json: unknown): Promise<{ status: number; code?: string }> {
  const r = await fetch(`${registry.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${tokens.reader}`, 'content-type': 'application/json' }, body: JSON.stringify(json) });
  return { status: r.status, code: ((await r.json()) as { code?: string }).code };
}

beforeAll(async () => {
  registry = await startRegistry({ env: { SIGIL_LOG_CHECKPOINT_MS: '200' } });
  await world.provision(['alice']);
  await world.publish(weatherManifest({ version: '1.0.0' }), ['alice']);
  await world.publish(weatherManifest({ version: '1.1.0' }));
  expect((await get('/v1/log/proof?leaf=io.github.acme/weather@1.1.0')).status).toBe(200);
  size = Number(String((await get('/v1/log/checkpoint')).body).split('\n')[1]);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  world.remove();
});

describe('when a size or index is not a canonical decimal in range', () => {
  const sizes = ['', ' 1', '1 ', '+1', '-1', '01', '1.0', '1e1', '0x1', '0b1', 'Infinity', 'NaN', '9007199254740992', '99999999999999999999', '１'];
  it.each(sizes)('refuses consistency from=%j with REQUEST_INVALID', async (v) => {
    const r = await get(`/v1/log/consistency?from=${encodeURIComponent(v)}`);
    expect([r.status, r.code]).toEqual([422, 'REQUEST_INVALID']);
  });
  it.each(sizes)('refuses consistency to=%j and a proof at that size with REQUEST_INVALID', async (v) => {
    const a = await get(`/v1/log/consistency?from=0&to=${encodeURIComponent(v)}`);
    expect([a.status, a.code]).toEqual([422, 'REQUEST_INVALID']);
    const b = await get(`/v1/log/proof?leaf=0&size=${encodeURIComponent(v)}`);
    expect([b.status, b.code]).toEqual([422, 'REQUEST_INVALID']);
  });
  it.each(['-1', '01', '1.0', '1e1', '0x1', ' 1', '9007199254740992', '99999999999999999'])('refuses leaf=%j with REQUEST_INVALID', async (v) => {
    const r = await get(`/v1/log/proof?leaf=${encodeURIComponent(v)}`);
    expect([r.status, r.code]).toEqual([422, 'REQUEST_INVALID']);
  });
});

describe('when sizes and indexes are beyond the log', () => {
  it('refuses a leaf index at or beyond the size (NOT_FOUND), a proof at an unsigned size (NOT_FOUND) and a leaf beyond a signed size (REQUEST_INVALID)', async () => {
    expect((await get(`/v1/log/proof?leaf=${size + 1000}`)).code).toBe('NOT_FOUND');
    expect((await get(`/v1/log/proof?leaf=${Number.MAX_SAFE_INTEGER}`)).code).toBe('NOT_FOUND');
    expect((await get(`/v1/log/proof?leaf=0&size=${size + 1}`)).code).toBe('NOT_FOUND');
    expect((await get(`/v1/log/proof?leaf=${size - 1}&size=1`)).code).toMatch(/^(REQUEST_INVALID|NOT_FOUND)$/);
  });
  it('refuses a consistency proof beyond the newest checkpoint or backwards (REQUEST_INVALID), and serves the trivial ones', async () => {
    expect((await get(`/v1/log/consistency?from=${size + 1}`)).code).toBe('REQUEST_INVALID');
    expect((await get(`/v1/log/consistency?from=0&to=${size + 1}`)).code).toBe('REQUEST_INVALID');
    expect((await get(`/v1/log/consistency?from=2&to=1`)).code).toBe('REQUEST_INVALID');
    expect((await get(`/v1/log/consistency?from=${Number.MAX_SAFE_INTEGER}&to=${Number.MAX_SAFE_INTEGER}`)).code).toBe('REQUEST_INVALID');
    const same = await get(`/v1/log/consistency?from=${size}&to=${size}`);
    expect([same.status, (same.body as { hashes: string[] }).hashes]).toEqual([200, []]);
    const empty = await get(`/v1/log/consistency?from=0&to=${size}`);
    expect([empty.status, (empty.body as { hashes: string[] }).hashes]).toEqual([200, []]);
  });
  it('refuses tiles beyond the signed size (NOT_FOUND) and non-canonical tile paths (REQUEST_INVALID)', async () => {
    for (const p of ['tile/0/001', 'tile/5/000', 'tile/entries/x999/x999/x999/x999/999', 'tile/0/000.p/255', 'tile/entries/000.p/255']) {
      expect((await get(`/v1/log/${p}`)).code, p).toBe('NOT_FOUND');
    }
    for (const p of ['tile/0/0', 'tile/00/000', 'tile/0/000.p/256', 'tile/0/000.p/0', 'tile/0/000.p/01', 'tile/-1/000', 'tile/0/x000/001', 'tile/99/000', 'tile/entries/000.p/', 'tile/0/000/', 'tile/0/%30%30%30', 'tile/entries/x999/x999/x999/x999/x999/999']) {
      expect((await get(`/v1/log/${p}`)).code, p).toBe('REQUEST_INVALID');
    }
  });
  it('refuses hostile proof requests with a stable code', async () => {
    expect((await post('/v1/log/proofs', { refs: [], size: -1 })).code).toBe('REQUEST_INVALID');
    expect((await post('/v1/log/proofs', { refs: ['a@b'], size: 1.5 })).code).toBe('REQUEST_INVALID');
    expect((await post('/v1/log/proofs', { refs: ['a@b'], size: size + 1 })).code).toBe('NOT_FOUND');
    expect((await post('/v1/log/proofs', { refs: Array.from({ length: 65 }, (_, i) => `io.github.acme/weather@9.9.${i}`) })).code).toBe('REQUEST_INVALID');
    expect((await post('/v1/log/proofs', { refs: ['x'.repeat(5000)] })).code).toBe('REQUEST_INVALID');
    expect((await post('/v1/log/proofs', { refs: ['io.github.acme/weather@1.0.0'], extra: 1 })).code).toBe('REQUEST_INVALID');
  });
});
