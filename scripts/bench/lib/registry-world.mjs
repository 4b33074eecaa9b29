// The registry the read benches measure (registry.mjs, reads-inproc.mjs), made the same way for
// both: a registry process started on its own data dir, and through its API a publisher, a
// reviewer and their tokens, one published and approved version with 12 tools, and a reader
// token, waited on until a checkpoint covers the version's log entry (as hosts get it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { manifestDigest } from '@sigil/manifest';
import { createSigner, generateKeyPair, signApprovalStatement, signManifestStatement } from '@sigil/signing/sign';

export const ADMIN = 'bench-admin-token-0123456789abcdef';
/** Rate limits no bench reaches (at 35,000 reads/s one address passes a million within a minute). */
export const NO_RATE_LIMITS = { SIGIL_RATE_LIMIT_TOKEN: '100000000', SIGIL_RATE_LIMIT_ADDRESS: '100000000' };
const bin = fileURLToPath(new URL('../../../apps/registry/bin/sigil-registry.js', import.meta.url));

/** Starts the registry on `port` with `dataDir` (node given `nodeArgs`, e.g. --cpu-prof), killed when this process exits; resolves once /healthz answers. */
export async function startRegistry({ port, dataDir, env = {}, stdio, nodeArgs = [] }) {
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...nodeArgs, bin], {
    env: { ...process.env, ...env, PORT: String(port), SIGIL_DATA_DIR: dataDir, SIGIL_BOOTSTRAP_TOKEN: ADMIN, SIGIL_LOG_LEVEL: 'silent' },
    stdio,
  });
  process.on('exit', () => child.kill('SIGKILL'));
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 300 || child.exitCode !== null) throw new Error('the registry did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base };
}

/** Seeds the registry at `base` (see above); returns what the benches go on using. */
export async function seedWeather(base) {
  const api = async (method, path, body, token = ADMIN) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const json = await res.json().catch(() => ({}));
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const publisher = generateKeyPair();
  const reviewer = generateKeyPair();
  await api('PUT', '/v1/allowlist/io.github.acme', { signers: [{ publicKey: publisher.publicKeyPem }] });
  await api('POST', '/v1/reviewers', { principal: 'alice', publicKey: reviewer.publicKeyPem });
  const pub = (await api('POST', '/v1/tokens', { principal: 'ci', role: 'publisher', namespaces: ['io.github.acme'], ttlSeconds: 86400 })).token;
  const sec = (await api('POST', '/v1/tokens', { principal: 'alice', role: 'security', ttlSeconds: 86400 })).token;
  const reader = (await api('POST', '/v1/tokens', { principal: 'host', role: 'reader', ttlSeconds: 86400 })).token;
  const signer = createSigner({ privateKey: publisher.privateKeyPem });
  const tools = Array.from({ length: 12 }, (_, i) => ({ name: `tool_${i}`, description: `Looks up item ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } } }, annotations: { readOnlyHint: true } }));
  const manifest = { name: 'io.github.acme/weather', description: 'Bench server', version: '1.0.0', tools };
  await api('POST', '/v1/publish', { manifest, bundle: await signManifestStatement(manifest, signer) }, pub);
  const approval = await signApprovalStatement({ name: manifest.name, version: '1.0.0', digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk: 'low' }, createSigner({ privateKey: reviewer.privateKeyPem }));
  await api('POST', '/v1/servers/io.github.acme/weather/versions/1.0.0/approvals', { bundle: approval }, sec);
  const versionPath = '/v1/servers/io.github.acme/weather/versions/1.0.0';
  // The version as hosts get it once a checkpoint covers its log entry (signed just after the
  // approval returns): read before that, a bench would measure (or copy) shorter bytes.
  for (let i = 0; !(await (await fetch(`${base}${versionPath}`, { headers: { authorization: `Bearer ${reader}` } })).text()).includes('"tlogEntries"'); i++) {
    if (i > 100) throw new Error('no checkpoint covered the version within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { signer, manifest, pub, reader, versionPath, approve: { token: sec, signer: createSigner({ privateKey: reviewer.privateKeyPem }) }, api };
}

/**
 * Many distinct approved versions, for reads that ask a different question each time (as a
 * population of hosts does): `servers` servers of io.github.acme (tools named after their
 * server) with `perServer` versions each, published and approved through the API like the
 * weather version (`world` is what seedWeather returned), waited on until a checkpoint covers the
 * last one. Returns their paths.
 */
const SERVER_WORDS = ['atlas', 'breeze', 'cobalt', 'dynamo', 'ember', 'fjord', 'granite', 'harbor', 'indigo', 'juniper'];
export async function seedDistinct(base, world, { servers = 10, perServer = 20 } = {}) {
  const { api, signer, pub, reader, approve } = world;
  const paths = [];
  const work = [];
  for (let s = 0; s < servers; s++) {
    // Names far apart: names close to a stored one are high-risk (NAME_CONFUSABLE), and one approval would leave them pending.
    const word = SERVER_WORDS[s % SERVER_WORDS.length] + (s < SERVER_WORDS.length ? '' : `-${Math.floor(s / SERVER_WORDS.length)}`);
    const name = `io.github.acme/${word}`;
    const tools = Array.from({ length: 12 }, (_, i) => ({ name: `${word.replace('-', '_')}_tool_${i}`, description: `Looks up ${word} item ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } } }, annotations: { readOnlyHint: true } }));
    for (let v = 0; v < perServer; v++) work.push({ name, manifest: { name, description: `Bench server ${word}`, version: `1.${v}.0`, tools } });
  }
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < work.length) {
      const { name, manifest } = work[next++];
      await api('POST', '/v1/publish', { manifest, bundle: await signManifestStatement(manifest, signer) }, pub);
      const bundle = await signApprovalStatement({ name, version: manifest.version, digest: manifestDigest(manifest) }, { decision: 'approved', reviewer: 'alice', risk: 'low' }, approve.signer);
      const approved = await api('POST', `/v1/servers/${name}/versions/${manifest.version}/approvals`, { bundle }, approve.token);
      if (approved.status !== 'approved') throw new Error(`${name}@${manifest.version}: ${approved.status} after one approval (risk ${approved.risk})`);
      paths.push(`/v1/servers/${name}/versions/${manifest.version}`);
    }
  }));
  paths.sort();
  // Every one covered (a version read before its checkpoint is looked up in the log on each read).
  const covered = async (path) => (await (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${reader}` } })).text()).includes('"tlogEntries"');
  for (const path of paths) {
    for (let i = 0; !(await covered(path)); i++) {
      if (i > 100) throw new Error(`no checkpoint covered ${path} within 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return paths;
}
