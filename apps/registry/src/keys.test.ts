import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, registryKey } from '@sigil/db';
import { createTestDatabase, repoRoot, runProcess, startRegistry, type RegistryProcess, type TestDatabase } from '@sigil/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyFileProblem } from './key-file.js';
import { createKeyFiles, KEY_FILES, KeyError, loadRegistryKeys } from './keys.js';
import { keyFingerprint } from './services/check-registry-keys.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sigil-keys-'));
  dirs.push(d);
  return d;
}
async function keyDir(): Promise<string> {
  const d = tempDir();
  await createKeyFiles(d);
  return d;
}
const text = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
async function refusal(p: Promise<unknown>): Promise<KeyError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KeyError);
  return e as KeyError;
}
const running: RegistryProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop('SIGKILL')));
});
afterAll(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the registry keys, on one instance with SQLite', () => {
  it('are made once in the data directory and read back the same', async () => {
    const dir = join(tempDir(), 'keys');
    const first = await loadRegistryKeys(dir);
    const again = await loadRegistryKeys(dir);
    expect(again.statusFingerprint).toBe(first.statusFingerprint);
    expect(again.statusPublicKey).toBe(text(dir, KEY_FILES.statusPub));
    expect(again.logPublicKey.equals(first.logPublicKey)).toBe(true);
    expect(again.tsaChainPem).toBe(first.tsaChainPem);
    expect(again.statusCreatedAt).toBe(text(dir, KEY_FILES.statusCreated));
  });

  it('refuses a data directory whose public key is not its private key’s', async () => {
    const dir = await keyDir();
    writeFileSync(join(dir, KEY_FILES.statusPub), text(await keyDir(), KEY_FILES.statusPub));
    const e = await refusal(loadRegistryKeys(dir));
    expect(e.code).toBe('KEY_MISMATCH');
    expect(e.message).toContain('status.pub');
  });
});

describe('keys given to the instance', () => {
  it('win over the data directory, text over a file, and make no file there', async () => {
    const [a, b, c] = [await keyDir(), await keyDir(), await keyDir()];
    const fingerprint = async (d: string) => (await loadRegistryKeys(d)).statusFingerprint;
    const empty = join(tempDir(), 'keys');
    const all = { logKeyFile: join(a, KEY_FILES.logKey), tsaKeyFile: join(a, KEY_FILES.tsaKey), tsaChainFile: join(a, KEY_FILES.tsaChain) };
    const fromFile = await loadRegistryKeys(empty, { ...all, statusKeyFile: join(b, KEY_FILES.statusKey) }, { generate: false });
    expect(fromFile.statusFingerprint).toBe(await fingerprint(b));
    expect(existsSync(empty)).toBe(false);
    // One line with `\n` escapes, as an env file carries it; it wins over the file.
    const oneLine = text(c, KEY_FILES.statusKey).trim().replaceAll('\n', '\\n');
    const fromText = await loadRegistryKeys(empty, { ...all, statusKey: oneLine, statusKeyFile: join(b, KEY_FILES.statusKey) }, { generate: false });
    expect(fromText.statusFingerprint).toBe(await fingerprint(c));
    // The given TSA answers timestamp requests with its own chain; the log key is the given one.
    expect(fromText.tsaChainPem).toBe(text(a, KEY_FILES.tsaChain));
    expect(fromText.logPublicKey.equals((await loadRegistryKeys(a)).logPublicKey)).toBe(true);
    const request = JSON.stringify({ artifactHash: Buffer.alloc(32, 7).toString('base64'), hashAlgorithm: 'sha256' });
    expect((await fromText.timestamp(new TextEncoder().encode(request), 'application/json')).length).toBeGreaterThan(100);
  });

  it('list more TSA chains in the trusted root (retired, next), each whole from its TSA to its root', async () => {
    const [a, b, c] = [await keyDir(), await keyDir(), await keyDir()];
    const retired = join(tempDir(), 'retired.pem');
    writeFileSync(retired, text(b, KEY_FILES.tsaChain) + text(c, KEY_FILES.tsaChain));
    const keys = await loadRegistryKeys(a, { tsaExtraChainsFile: retired });
    expect(keys.tsaExtraChainPems.map((pem) => new X509Certificate(pem).fingerprint256)).toEqual(
      [b, c].map((d) => new X509Certificate(text(d, KEY_FILES.tsaChain)).fingerprint256),
    );
    // A chain cut before its root is refused rather than half-trusted.
    writeFileSync(retired, text(b, KEY_FILES.tsaChain) + text(c, KEY_FILES.tsaChain).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]);
    const e = await refusal(loadRegistryKeys(a, { tsaExtraChainsFile: retired }));
    expect([e.code, e.message]).toEqual(['KEY_INVALID', expect.stringMatching(/SIGIL_TSA_EXTRA_CHAINS_FILE .* ends with a chain that does not reach a self-signed root/)]);
  });

  it('refuse to start when malformed, of the wrong kind, unreadable, or not a pair', async () => {
    const [a, b] = [await keyDir(), await keyDir()];
    const dir = await keyDir();
    const edKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const cases: Array<[Parameters<typeof loadRegistryKeys>[1], string, RegExp]> = [
      [{ statusKey: 'not a key' }, 'KEY_INVALID', /SIGIL_STATUS_KEY is not a PEM private key/],
      [{ statusKey: edKey }, 'KEY_INVALID', /ed25519 key, not ECDSA P-256/],
      [{ logKeyFile: join(a, KEY_FILES.statusKey) }, 'KEY_INVALID', /SIGIL_LOG_KEY_FILE .* is a ec key, not Ed25519/],
      [{ statusKeyFile: join(a, 'missing.key') }, 'KEY_INVALID', /SIGIL_STATUS_KEY_FILE names .*missing\.key, which cannot be read \(ENOENT\)/],
      [{ tsaKeyFile: join(a, KEY_FILES.tsaKey) }, 'KEY_INVALID', /without its pair/],
      [{ tsaKeyFile: join(a, KEY_FILES.tsaKey), tsaChainFile: join(b, KEY_FILES.tsaChain) }, 'KEY_MISMATCH', /is not the key of the first certificate/],
      [{ tsaKeyFile: join(a, KEY_FILES.tsaKey), tsaChain: 'no certificate here' }, 'KEY_INVALID', /SIGIL_TSA_CHAIN holds no PEM certificate/],
    ];
    for (const [given, code, message] of cases) {
      const e = await refusal(loadRegistryKeys(dir, given));
      expect([e.code, e.message]).toEqual([code, expect.stringMatching(message)]);
    }
  });

  it('are required where none may be made (PostgreSQL): the refusal names each missing key', async () => {
    const a = await keyDir();
    const empty = join(tempDir(), 'keys');
    const none = await refusal(loadRegistryKeys(empty, {}, { generate: false }));
    expect(none.code).toBe('KEYS_REQUIRED');
    expect(none.message).toMatch(/the status key .*, the log key .*, the TSA key and chain .* are missing; make them once with `sigil-registry keys init <dir>`/);
    const some = await refusal(loadRegistryKeys(empty, { statusKeyFile: join(a, KEY_FILES.statusKey) }, { generate: false }));
    expect(some.message).not.toContain('the status key');
    expect(some.message).toContain('the log key');
    expect(existsSync(empty)).toBe(false);
    // A provisioned key directory (a mounted secret) is used as it is.
    expect((await loadRegistryKeys(a, {}, { generate: false })).statusFingerprint).toBe((await loadRegistryKeys(a)).statusFingerprint);
  });
});

describe('a private key file others could read or replace', () => {
  const uid = process.getuid!();
  const mode = (file: string) => statSync(file).mode & 0o777;

  it('is judged by its owner and mode, as OpenSSH and PostgreSQL judge theirs', () => {
    const judge = (fileMode: number, owner: number, processUid = 1000, platform: NodeJS.Platform = 'linux') => keyFileProblem({ mode: 0o100000 | fileMode, uid: owner }, processUid, '/k/status.key', platform);
    // The process's own file: nothing for group or others.
    expect([0o600, 0o400, 0o700].map((m) => judge(m, 1000))).toEqual([undefined, undefined, undefined]);
    expect(judge(0o644, 1000)).toMatch(/^has mode 0644 \(its group can read and others can read\): an unprotected private key file.*; chmod 600 \/k\/status\.key$/);
    expect(judge(0o640, 1000)).toMatch(/mode 0640 \(its group can read\)/);
    expect(judge(0o602, 1000)).toMatch(/mode 0602 \(others can write\)/);
    // Root's file may be readable by the group root chose (a Kubernetes secret with fsGroup), no more.
    expect([0o600, 0o440, 0o640].map((m) => judge(m, 0))).toEqual([undefined, undefined, undefined]);
    expect(judge(0o660, 0)).toMatch(/mode 0660 \(its group can read, write\).*chmod 640 \/k\/status\.key/);
    expect(judge(0o644, 0)).toMatch(/mode 0644 \(others can read\)/);
    // Root's own process is held to its own files' rule.
    expect(judge(0o640, 0, 0)).toMatch(/mode 0640/);
    // Another user's file: that user could replace the key.
    expect(judge(0o600, 1001)).toMatch(/^is owned by uid 1001, not by this process's user \(uid 1000\) or root.*chown 1000 \/k\/status\.key && chmod 600/);
    // Windows has no such modes.
    expect(judge(0o666, 1001, 1000, 'win32')).toBeUndefined();
  });

  it('refuses the start, given or in the data directory, naming the file, its mode and the fix; a chain is public', async () => {
    const k = await keyDir();
    const given = { statusKeyFile: join(k, KEY_FILES.statusKey), logKeyFile: join(k, KEY_FILES.logKey), tsaKeyFile: join(k, KEY_FILES.tsaKey), tsaChainFile: join(k, KEY_FILES.tsaChain) };
    const empty = join(tempDir(), 'keys');
    // keys init's files are private; the public chain may be read by anyone.
    chmodSync(given.tsaChainFile, 0o644);
    await loadRegistryKeys(empty, given, { generate: false });
    for (const [name, file] of [['SIGIL_STATUS_KEY_FILE', given.statusKeyFile], ['SIGIL_LOG_KEY_FILE', given.logKeyFile], ['SIGIL_TSA_KEY_FILE', given.tsaKeyFile]] as const) {
      chmodSync(file, 0o644);
      const e = await refusal(loadRegistryKeys(empty, given, { generate: false }));
      expect(e.code).toBe('KEY_FILE_PERMISSIONS');
      expect(e.message).toBe(`${name} (${file}) has mode 0644 (its group can read and others can read): an unprotected private key file, which must be accessible by its owner only; chmod 600 ${file}`);
      chmodSync(file, 0o600);
    }
    // Another user's file, though this process could read it.
    chownSync(given.logKeyFile, uid + 4242, -1);
    const owned = await refusal(loadRegistryKeys(empty, given, { generate: false }));
    expect([owned.code, owned.message]).toEqual(['KEY_FILE_PERMISSIONS', expect.stringMatching(new RegExp(`is owned by uid ${uid + 4242}`))]);
    chownSync(given.logKeyFile, uid, -1);
    // The data directory's keys, its TSA's CA key included, are checked too (never silently fixed).
    for (const file of [KEY_FILES.statusKey, KEY_FILES.logKey, KEY_FILES.tsaKey, join(KEY_FILES.tsaCa, 'ca.key')]) {
      chmodSync(join(k, file), 0o640);
      const e = await refusal(loadRegistryKeys(k));
      expect([e.code, e.message]).toEqual(['KEY_FILE_PERMISSIONS', `${join(k, file)} has mode 0640 (its group can read): an unprotected private key file, which must be accessible by its owner only; chmod 600 ${join(k, file)}`]);
      expect(mode(join(k, file))).toBe(0o640);
      chmodSync(join(k, file), 0o600);
    }
    await loadRegistryKeys(k);
  });

  // Two registry processes (key generation in the first): near the 5 s default on a loaded machine.
  it('is never what keys init writes: private keys 0600 in 0700 directories, a directory made beforehand tightened', async () => {
    const dir = join(tempDir(), 'registry-keys');
    mkdirSync(dir, { mode: 0o755 });
    const made = await runProcess(process.execPath, [join(repoRoot(), 'apps/registry/bin/sigil-registry.js'), 'keys', 'init', dir]);
    expect(made.code).toBe(0);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'tsa'))).toBe(0o700);
    expect(mode(join(dir, KEY_FILES.tsaCa))).toBe(0o700);
    for (const file of [KEY_FILES.statusKey, KEY_FILES.logKey, KEY_FILES.tsaKey, join(KEY_FILES.tsaCa, 'ca.key')]) expect([file, mode(join(dir, file))]).toEqual([file, 0o600]);
    // Run again over a key made readable since: refused, with the same code and sentence as a start.
    chmodSync(join(dir, KEY_FILES.statusKey), 0o644);
    const again = await runProcess(process.execPath, [join(repoRoot(), 'apps/registry/bin/sigil-registry.js'), 'keys', 'init', dir]);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/^sigil-registry: error KEY_FILE_PERMISSIONS: .*status\.key has mode 0644 .*chmod 600 /)]);
  }, 30_000);

  it('stops a registry process before it listens', async () => {
    const k = await keyDir();
    chmodSync(join(k, KEY_FILES.statusKey), 0o604);
    await expect(startRegistry({ env: { SIGIL_STATUS_KEY_FILE: join(k, KEY_FILES.statusKey) } })).rejects.toThrow(
      new RegExp(`sigil-registry: error KEY_FILE_PERMISSIONS: SIGIL_STATUS_KEY_FILE \\(${join(k, KEY_FILES.statusKey)}\\) has mode 0604 \\(others can read\\)`),
    );
  }, 40_000);
});

describe('several registry processes on one PostgreSQL database', () => {
  let pgdb: TestDatabase;
  beforeAll(async () => {
    pgdb = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop('SIGKILL')));
    await pgdb.drop();
  });

  it('refuse to start without keys, with a code and a sentence, instead of making their own', async () => {
    const a = await keyDir();
    const dataDir = tempDir();
    await expect(startRegistry({ dataDir, env: { SIGIL_DATABASE_URL: pgdb.url, SIGIL_STATUS_KEY_FILE: join(a, KEY_FILES.statusKey) } })).rejects.toThrow(
      /sigil-registry: error KEYS_REQUIRED: on PostgreSQL every instance must sign with the same keys.*the log key/,
    );
    expect(existsSync(join(dataDir, 'keys'))).toBe(false);
    await expect(startRegistry({ env: { SIGIL_DATABASE_URL: pgdb.url, SIGIL_STATUS_KEY: 'garbage' } })).rejects.toThrow(/sigil-registry: error KEY_INVALID: SIGIL_STATUS_KEY is not a PEM private key/);
  }, 60_000);

  it('given the same key files, answer with the same keys, times and trusted root', async () => {
    const k = await keyDir();
    const env = {
      SIGIL_DATABASE_URL: pgdb.url,
      SIGIL_STATUS_KEY_FILE: join(k, KEY_FILES.statusKey),
      SIGIL_LOG_KEY: text(k, KEY_FILES.logKey),
      SIGIL_TSA_KEY_FILE: join(k, KEY_FILES.tsaKey),
      SIGIL_TSA_CHAIN_FILE: join(k, KEY_FILES.tsaChain),
      SIGIL_TSA_EXTRA_CHAINS_FILE: join(await keyDir(), KEY_FILES.tsaChain),
      SIGIL_ANONYMOUS_READ: 'true',
    };
    const a = await startRegistry({ dataDir: tempDir(), env });
    running.push(a);
    await new Promise((r) => setTimeout(r, 20)); // a later start, so a time of its own would differ
    const b = await startRegistry({ dataDir: tempDir(), env });
    running.push(b);
    const read = async (r: RegistryProcess, path: string) => (await fetch(`${r.url}${path}`)).json();
    const [keysA, keysB] = [await read(a, '/v1/keys'), await read(b, '/v1/keys')];
    expect(keysB).toEqual(keysA);
    expect(keysA).toMatchObject({ keys: [{ fingerprint: (await loadRegistryKeys(k)).statusFingerprint }] });
    const root = (await read(a, '/v1/trusted-root')) as { timestampAuthorities: Array<{ certChain: { certificates: Array<{ rawBytes: string }> } }> };
    expect(await read(b, '/v1/trusted-root')).toEqual(root);
    // The signing TSA first, then the other one.
    expect(root.timestampAuthorities.map((t) => new X509Certificate(Buffer.from(t.certChain.certificates[0]!.rawBytes, 'base64')).fingerprint256)).toEqual(
      [text(k, KEY_FILES.tsaChain), readFileSync(env.SIGIL_TSA_EXTRA_CHAINS_FILE, 'utf8')].map((pem) => new X509Certificate(pem).fingerprint256),
    );
    // Neither wrote a key into its data directory.
    expect(existsSync(join(a.dataDir, 'keys'))).toBe(false);
    expect(existsSync(join(b.dataDir, 'keys'))).toBe(false);
  }, 90_000);
});

describe('instances on one PostgreSQL database with different keys', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(running.splice(0).map((r) => r.stop('SIGKILL')));
    await Promise.all(databases.map((d) => d.drop()));
  });
  const fresh = async () => {
    const d = await createTestDatabase();
    databases.push(d);
    return d;
  };
  const filesOf = (k: string) => ({
    SIGIL_STATUS_KEY_FILE: join(k, KEY_FILES.statusKey),
    SIGIL_LOG_KEY_FILE: join(k, KEY_FILES.logKey),
    SIGIL_TSA_KEY_FILE: join(k, KEY_FILES.tsaKey),
    SIGIL_TSA_CHAIN_FILE: join(k, KEY_FILES.tsaChain),
  });
  const start = async (env: Record<string, string>) => {
    const r = await startRegistry({ dataDir: tempDir(), env: { SIGIL_ANONYMOUS_READ: 'true', ...env } });
    running.push(r);
    return r;
  };
  const fingerprints = async (k: string) => {
    const keys = await loadRegistryKeys(k);
    return { status: keys.statusFingerprint, log: keyFingerprint(keys.logPublicKey) };
  };
  const recorded = async (url: string) => {
    const store = await openStore({ url, path: '' });
    try {
      return { status: await registryKey(store.db, 'status'), log: await registryKey(store.db, 'log') };
    } finally {
      await store.close();
    }
  };

  it('refuse the second instance when each made its own keys in its data directory (a cluster upgraded from per-instance keys)', async () => {
    const db = await fresh();
    // No key given: each instance is provisioned keys of its own in its data directory.
    const first = await start({ SIGIL_DATABASE_URL: db.url });
    const mine = await fingerprints(join(first.dataDir, 'keys'));
    expect(await recorded(db.url)).toMatchObject({ status: { fingerprint: mine.status, replaces: null }, log: { fingerprint: mine.log, replaces: null } });
    const other = tempDir();
    const refused = await startRegistry({ dataDir: other, env: { SIGIL_DATABASE_URL: db.url } }).then(
      () => '',
      (e: Error) => e.message,
    );
    const theirs = await fingerprints(join(other, 'keys'));
    expect(refused).toContain(
      `sigil-registry: error KEY_MISMATCH: this instance's status key is ${theirs.status}, and the instances on this database sign with ${mine.status} (recorded `,
    );
    expect(refused).toContain(`start it with SIGIL_STATUS_KEY_REPLACES=${mine.status} (docs/deploy.md, "Rotation")`);
    // Only the log key differs: refused as well, naming the log key.
    const k = join(first.dataDir, 'keys');
    const logOnly = await start({ SIGIL_DATABASE_URL: db.url, ...filesOf(k), SIGIL_LOG_KEY_FILE: join(other, 'keys', KEY_FILES.logKey) }).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(logOnly).toMatch(new RegExp(`error KEY_MISMATCH: this instance's log key is ${theirs.log.replace(/[+/]/g, '\\$&')}, and the instances on this database sign with`));
    // Given the first instance's keys, it starts and answers with the same status key.
    const second = await start({ SIGIL_DATABASE_URL: db.url, ...filesOf(k) });
    expect(await (await fetch(`${second.url}/v1/keys`)).json()).toEqual(await (await fetch(`${first.url}/v1/keys`)).json());
    expect((await recorded(db.url)).status?.fingerprint).toBe(mine.status);
  }, 120_000);

  it('rotate only when told which key is replaced, and then refuse the old key', async () => {
    const db = await fresh();
    const [a, b] = [await keyDir(), await keyDir()];
    const [fa, fb] = [await fingerprints(a), await fingerprints(b)];
    await start({ SIGIL_DATABASE_URL: db.url, ...filesOf(a) });
    const newStatus = { SIGIL_DATABASE_URL: db.url, ...filesOf(a), SIGIL_STATUS_KEY_FILE: join(b, KEY_FILES.statusKey) };
    // A replacement that names another key than the recorded one is refused, and says so.
    const wrong = await start({ ...newStatus, SIGIL_STATUS_KEY_REPLACES: fb.status }).then(
      () => '',
      (e: Error) => e.message,
    );
    expect(wrong).toContain(`error KEY_MISMATCH: SIGIL_STATUS_KEY_REPLACES names ${fb.status}, but this instance's status key is ${fb.status}, and the instances on this database sign with ${fa.status}`);
    const rotated = await start({ ...newStatus, SIGIL_STATUS_KEY_REPLACES: fa.status });
    expect(await (await fetch(`${rotated.url}/v1/keys`)).json()).toMatchObject({ keys: [{ fingerprint: fb.status }] });
    expect(await recorded(db.url)).toMatchObject({ status: { fingerprint: fb.status, replaces: fa.status }, log: { fingerprint: fa.log, replaces: null } });
    // Another instance restarted on the new key starts (the setting left in changes nothing); one on the old key does not.
    await start({ ...newStatus, SIGIL_STATUS_KEY_REPLACES: fa.status });
    await expect(start({ SIGIL_DATABASE_URL: db.url, ...filesOf(a) })).rejects.toThrow(`error KEY_MISMATCH: this instance's status key is ${fa.status}, and the instances on this database sign with ${fb.status}`);
    // The log key likewise: a cut-over names the key it replaces.
    const newLog = { ...newStatus, SIGIL_LOG_KEY_FILE: join(b, KEY_FILES.logKey) };
    await expect(start(newLog)).rejects.toThrow(`SIGIL_LOG_KEY_REPLACES=${fa.log}`);
    await start({ ...newLog, SIGIL_LOG_KEY_REPLACES: fa.log });
    expect(await recorded(db.url)).toMatchObject({ log: { fingerprint: fb.log, replaces: fa.log } });
  }, 120_000);

  it('take the log key of a log from before the record to be the one that signed its newest checkpoint', async () => {
    const db = await fresh();
    const [a, b] = [await keyDir(), await keyDir()];
    const first = await start({ SIGIL_DATABASE_URL: db.url, ...filesOf(a) });
    await first.stop();
    // A database migrated from before registry_keys: a log and its checkpoints, no record.
    const forget = async () => {
      const store = await openStore({ url: db.url, path: '' });
      await store.raw.run('delete from registry_keys');
      await store.close();
    };
    await forget();
    const other = { SIGIL_DATABASE_URL: db.url, ...filesOf(a), SIGIL_LOG_KEY_FILE: join(b, KEY_FILES.logKey) };
    await expect(start(other)).rejects.toThrow(new RegExp(`error KEY_MISMATCH: this instance's log key \\S+ did not sign the log's newest checkpoint \\(size \\d+, signed .*SIGIL_LOG_KEY_REPLACES=<the old log key's fingerprint>`));
    const [fa, fb] = [await fingerprints(a), await fingerprints(b)];
    // The key that signed it is recorded as it is.
    await (await start({ SIGIL_DATABASE_URL: db.url, ...filesOf(a) })).stop();
    expect(await recorded(db.url)).toMatchObject({ log: { fingerprint: fa.log, replaces: null } });
    await forget();
    await start({ ...other, SIGIL_LOG_KEY_REPLACES: fa.log });
    expect(await recorded(db.url)).toMatchObject({ status: { fingerprint: fa.status, replaces: null }, log: { fingerprint: fb.log, replaces: fa.log } });
  }, 120_000);

  it('record the keys of the first of two instances starting together with different keys, and refuse the other', async () => {
    const db = await fresh();
    const [a, b] = [await keyDir(), await keyDir()];
    const outcomes = await Promise.allSettled([a, b].map((k) => start({ SIGIL_DATABASE_URL: db.url, ...filesOf(k) })));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = outcomes[0]!.status === 'fulfilled' ? a : b;
    expect((await recorded(db.url)).status?.fingerprint).toBe((await fingerprints(winner)).status);
    expect(String((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/error KEY_MISMATCH: this instance's status key is/);
  }, 120_000);
});
