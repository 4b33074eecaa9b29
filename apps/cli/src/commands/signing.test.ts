import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrustedRoot, createTimestampResponder, createTsa, readCa, TIMESTAMP_REPLY_CONTENT_TYPE } from '@sigil/signing/sign';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-cli-signing-'));
const p = (name: string) => join(dir, name);
const manifest = {
  name: 'io.github.acme/weather',
  description: 'Weather for agents',
  version: '1.2.0',
  tools: [{ name: 'get_forecast', description: 'Daily forecast for a city.', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }],
};

/** Runs `sigil --json …` in-process; returns the exit code and the parsed JSON it printed. */
async function sigil(...args: string[]): Promise<{ code: number; json: { error?: { code: string } } & Record<string, unknown> }> {
  const chunks: string[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const code = await main(['--json', ...args], { stdout });
  const text = chunks.join('');
  return { code, json: text ? (JSON.parse(text) as never) : ({} as never) };
}

let server: Server;
let tsaUrl: string;

beforeAll(async () => {
  writeFileSync(p('sigil.json'), JSON.stringify(manifest, null, 2));
  expect((await sigil('keygen', '--out', p('publisher.key'))).code).toBe(0);
  expect((await sigil('ca', 'init', '--out', p('ca'), '--name', 'Acme CA')).code).toBe(0);
  // The registry's TSA, served here on a real loopback HTTP server before the registry exists.
  const tsa = createTsa(await readCa(p('ca')));
  const respond = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
  server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/v1/timestamp') return void res.writeHead(404).end();
      try {
        const reply = respond(Buffer.concat(body), req.headers['content-type']);
        res.writeHead(200, { 'content-type': TIMESTAMP_REPLY_CONTENT_TYPE }).end(reply);
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  tsaUrl = `http://127.0.0.1:${address.port}`;
  const ca = await readCa(p('ca'));
  writeFileSync(p('trusted_root.json'), JSON.stringify(buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem, uri: tsaUrl }] })));
  writeFileSync(
    p('sigil.policy.json'),
    JSON.stringify({
      policyVersion: 1,
      registry: { url: 'http://127.0.0.1:8787', trustedRoot: 'trusted_root.json' },
      publishers: [
        { namespace: 'io.github.acme', publicKeys: ['publisher.key.pub'], identities: [{ identity: 'mailto:release@acme.example' }] },
        { namespace: 'io.github.*', identities: [{ identity: 'mailto:other@acme.example' }] },
      ],
    }),
  );
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('when a publisher signs with a key', () => {
  it('keygen writes a 0600 key and a .pub, and refuses to overwrite', async () => {
    expect(statSync(p('publisher.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(p('publisher.key.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const again = await sigil('keygen', '--out', p('publisher.key'));
    expect(again.code).toBe(1);
    expect(again.json.error?.code).toBe('FILE_EXISTS');
  });

  it('sign then verify round-trips, and a changed manifest is refused', async () => {
    expect((await sigil('sign', p('sigil.json'), '--key', p('publisher.key'), '--out', p('key.bundle.json'))).code).toBe(0);
    const ok = await sigil('verify', p('sigil.json'), '--bundle', p('key.bundle.json'), '--policy', p('sigil.policy.json'));
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({ verified: true, namespace: 'io.github.acme', signer: { kind: 'key' } });
    writeFileSync(p('changed.json'), JSON.stringify({ ...manifest, description: 'Weather for agentz' }));
    const changed = await sigil('verify', p('changed.json'), '--bundle', p('key.bundle.json'), '--policy', p('sigil.policy.json'));
    expect(changed.code).toBe(1);
    expect(changed.json.error?.code).toBe('SUBJECT_MISMATCH');
  });

  it('refuses a key outside the policy, and a truncated bundle', async () => {
    await sigil('keygen', '--out', p('other.key'));
    await sigil('sign', p('sigil.json'), '--key', p('other.key'), '--out', p('other.bundle.json'));
    const other = await sigil('verify', p('sigil.json'), '--bundle', p('other.bundle.json'), '--policy', p('sigil.policy.json'));
    expect(other.json.error?.code).toBe('SIGNER_UNTRUSTED');
    writeFileSync(p('truncated.json'), readFileSync(p('key.bundle.json'), 'utf8').slice(0, 200));
    const truncated = await sigil('verify', p('sigil.json'), '--bundle', p('truncated.json'), '--policy', p('sigil.policy.json'));
    expect(truncated.code).toBe(1);
    expect(truncated.json.error?.code).toBe('BUNDLE_INVALID');
  });
});

describe('when a publisher signs with a certificate from the organisation CA', () => {
  it('ca issue + sign --cert --tsa verifies through the policy', async () => {
    await sigil('keygen', '--out', p('release.key'));
    expect((await sigil('ca', 'issue', '--ca', p('ca'), '--public-key', p('release.key.pub'), '--identity', 'mailto:release@acme.example', '--days', '1', '--out', p('release.crt'))).code).toBe(0);
    expect((await sigil('sign', p('sigil.json'), '--key', p('release.key'), '--cert', p('release.crt'), '--tsa', tsaUrl, '--out', p('cert.bundle.json'))).code).toBe(0);
    const ok = await sigil('verify', p('sigil.json'), '--bundle', p('cert.bundle.json'), '--policy', p('sigil.policy.json'));
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({ signer: { kind: 'certificate', identity: 'mailto:release@acme.example' } });
  });

  it('refuses a look-alike identity', async () => {
    await sigil('keygen', '--out', p('evil.key'));
    await sigil('ca', 'issue', '--ca', p('ca'), '--public-key', p('evil.key.pub'), '--identity', 'mailto:release@acme.example.evil.test', '--out', p('evil.crt'));
    await sigil('sign', p('sigil.json'), '--key', p('evil.key'), '--cert', p('evil.crt'), '--tsa', tsaUrl, '--out', p('evil.bundle.json'));
    const evil = await sigil('verify', p('sigil.json'), '--bundle', p('evil.bundle.json'), '--policy', p('sigil.policy.json'));
    expect(evil.code).toBe(1);
    expect(evil.json.error?.code).toBe('SIGNER_UNTRUSTED');
  });

  it('refuses a certificate of a CA the pinned root does not hold, and says how to pin a newer root', async () => {
    expect((await sigil('ca', 'init', '--out', p('later-ca'), '--name', 'Later CA')).code).toBe(0);
    await sigil('keygen', '--out', p('later.key'));
    expect((await sigil('ca', 'issue', '--ca', p('later-ca'), '--public-key', p('later.key.pub'), '--identity', 'mailto:release@acme.example', '--out', p('later.crt'))).code).toBe(0);
    expect((await sigil('sign', p('sigil.json'), '--key', p('later.key'), '--cert', p('later.crt'), '--tsa', tsaUrl, '--out', p('later.bundle.json'))).code).toBe(0);
    const later = await sigil('verify', p('sigil.json'), '--bundle', p('later.bundle.json'), '--policy', p('sigil.policy.json'));
    expect(later.code).toBe(1);
    expect(later.json.error?.code).toBe('SIGNER_UNTRUSTED');
    expect((later.json.error as unknown as { message: string }).message).toContain(`does not chain to a CA of the trusted root pinned by ${p('sigil.policy.json')}; if its CA was registered after the policy was made, re-run sigil policy init --force`);
  });

  it('treats --cert without --tsa and a bad identity as wrong usage', async () => {
    expect((await sigil('sign', p('sigil.json'), '--key', p('release.key'), '--cert', p('release.crt'), '--out', p('x.json'))).code).toBe(2);
    expect((await sigil('ca', 'issue', '--ca', p('ca'), '--public-key', p('release.key.pub'), '--identity', 'release@acme.example', '--out', p('x.crt'))).code).toBe(2);
    expect((await sigil('ca', 'issue', '--ca', p('ca'), '--public-key', p('release.key.pub'), '--identity', 'mailto:a@acme.example', '--days', '0', '--out', p('x.crt'))).code).toBe(2);
  });

  it('refuses to sign when the TSA is unreachable', async () => {
    const down = await sigil('sign', p('sigil.json'), '--key', p('release.key'), '--cert', p('release.crt'), '--tsa', 'http://127.0.0.1:9', '--out', p('y.json'));
    expect(down.code).toBe(1);
    expect(down.json.error?.code).toBe('SIGNING_FAILED');
  });
});
