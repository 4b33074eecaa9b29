import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestDigest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signManifestStatement } from '@sigil/signing/sign';
import { openStore } from '@sigil/db';
import { createTestStore, freePort, startRegistry, weatherManifest } from '@sigil/testing';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'sigil-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('when the registry is killed with SIGKILL during a burst of concurrent publishes', () => {
  it('keeps every acknowledged publish after a restart, half-writes nothing, and its audit chain verifies', async () => {
    const dataDir = join(dir, 'data');
    const store = await createTestStore(dataDir);
    const port = await freePort();
    let registry = await startRegistry({ dataDir, port, env: store.env });
    const admin = { authorization: `Bearer ${registry.adminToken}`, 'content-type': 'application/json' };
    const key = generateKeyPair();
    expect((await fetch(`${registry.url}/v1/allowlist/io.github.acme`, { method: 'PUT', headers: admin, body: JSON.stringify({ signers: [{ publicKey: key.publicKeyPem }] }) })).status).toBe(200);
    const created = (await (await fetch(`${registry.url}/v1/tokens`, { method: 'POST', headers: admin, body: JSON.stringify({ principal: 'ci', role: 'publisher', namespaces: ['io.github.acme'] }) })).json()) as { token: string };
    const signer = createSigner({ privateKey: key.privateKeyPem });
    const bodies = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const manifest = weatherManifest({ version: `3.0.${i}` });
        return { version: manifest.version, digest: manifestDigest(manifest), body: JSON.stringify({ manifest, bundle: await signManifestStatement(manifest, signer) }) };
      }),
    );

    const acknowledged = new Map<string, string>();
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        const item = bodies[next++]!;
        try {
          const res = await fetch(`${registry.url}/v1/publish`, { method: 'POST', headers: { authorization: `Bearer ${created.token}`, 'content-type': 'application/json' }, body: item.body });
          if (res.status === 201) acknowledged.set(item.version, item.digest);
          await res.arrayBuffer();
        } catch {
          // the connection died with the server: not acknowledged
        }
        if (!killed && acknowledged.size >= 25) {
          killed = true;
          registry.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(killed).toBe(true);
    await registry.stop('SIGKILL');
    expect(acknowledged.size).toBeGreaterThanOrEqual(25);

    registry = await startRegistry({ dataDir, port, env: store.env });
    try {
      for (const [version, digest] of acknowledged) {
        const res = await fetch(`${registry.url}/v1/servers/io.github.acme/weather/versions/${version}`, { headers: { authorization: `Bearer ${registry.adminToken}` } });
        expect(res.status, version).toBe(200);
        expect(((await res.json()) as { digest: string }).digest).toBe(digest);
      }
      const chain = (await (await fetch(`${registry.url}/v1/audit/verify`, { headers: { authorization: `Bearer ${registry.adminToken}` } })).json()) as { ok: boolean };
      expect(chain.ok).toBe(true);
    } finally {
      await registry.stop();
    }
    // Nothing half-written: every stored version has its publish event, and every publish event its version.
    const db = await openStore(store);
    const versions = (await db.raw.all<{ version: string }>("select version from versions where server = 'io.github.acme/weather'")).map((r) => r.version).sort();
    const events = (await db.raw.all<{ subject: string }>("select subject from audit_events where action = 'version.publish'")).map((r) => r.subject.split('@')[1]!).sort();
    await db.close();
    await store.drop();
    expect(events).toEqual(versions);
    for (const v of acknowledged.keys()) expect(versions).toContain(v);
  });
});

describe('when the registry stops with a log checkpoint still owed', () => {
  // A long interval: after the first signature, the next publishes wait for it to end.
  const slow = { SIGIL_LOG_CHECKPOINT_MS: '600000' };
  const covered = async (store: Awaited<ReturnType<typeof createTestStore>>): Promise<[number, number]> => {
    const db = await openStore(store);
    try {
      const [leaves] = await db.raw.all<{ n: number }>('select count(*) as n from log_entries');
      const [newest] = await db.raw.all<{ n: number | null }>('select max(size) as n from log_checkpoints');
      return [Number(leaves!.n), Number(newest!.n ?? 0)];
    } finally {
      await db.close();
    }
  };
  const publishTwo = async (url: string, admin: string, from: number): Promise<void> => {
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const key = generateKeyPair();
    expect((await fetch(`${url}/v1/allowlist/io.github.acme`, { method: 'PUT', headers, body: JSON.stringify({ signers: [{ publicKey: key.publicKeyPem }] }) })).status).toBe(200);
    const signer = createSigner({ privateKey: key.privateKeyPem });
    for (let i = from; i < from + 2; i++) {
      const manifest = weatherManifest({ version: `4.0.${i}` });
      const res = await fetch(`${url}/v1/publish`, { method: 'POST', headers, body: JSON.stringify({ manifest, bundle: await signManifestStatement(manifest, signer) }) });
      expect(res.status).toBe(201);
    }
  };

  it('signs it before it exits on SIGTERM, and a restart signs at once what an instance killed with SIGKILL left unsigned', async () => {
    const dataDir = join(dir, 'owed');
    const store = await createTestStore(dataDir);
    const port = await freePort();
    try {
      let registry = await startRegistry({ dataDir, port, env: { ...store.env, ...slow } });
      await publishTwo(registry.url, registry.adminToken, 0);
      expect(await registry.stop('SIGTERM')).toBe(0);
      const [leaves, size] = await covered(store);
      expect(size).toBe(leaves);

      registry = await startRegistry({ dataDir, port, env: { ...store.env, ...slow } });
      await publishTwo(registry.url, registry.adminToken, 2);
      await registry.stop('SIGKILL');
      const [more, before] = await covered(store);
      expect(before).toBeLessThan(more);
      registry = await startRegistry({ dataDir, port, env: { ...store.env, ...slow } });
      try {
        const checkpoint = await (await fetch(`${registry.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${registry.adminToken}` } })).text();
        expect(Number(checkpoint.split('\n')[1])).toBeGreaterThanOrEqual(more);
      } finally {
        await registry.stop();
      }
    } finally {
      await store.drop();
    }
  });
});
