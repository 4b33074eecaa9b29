import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { access, chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CA_FILES, createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, readCa, writeCa, type BundleSigner } from '@sigil/signing/sign';
import { publicKeyFingerprint } from '@sigil/signing/verify';
import { keyFileProblem } from './key-file.js';

/** The registry's own key material: given to every instance, or created on first start in the data directory. */
export interface RegistryKeys {
  statusSigner: BundleSigner;
  statusPublicKey: string;
  statusFingerprint: string;
  /** When the key was made: its file's record, or the time its first log entry holds (`logRegistryKeys`). */
  statusCreatedAt: string;
  /** The TSA's certificate chain (TSA certificate first, root last). */
  tsaChainPem: string;
  /**
   * More TSA chains the trusted root lists beside the signing one (`SIGIL_TSA_EXTRA_CHAINS_FILE`):
   * retired TSAs, so the timestamps stored bundles carry still verify, and the next TSA, so hosts
   * can pin it before it signs.
   */
  tsaExtraChainPems: string[];
  timestamp: (body: Uint8Array, contentType?: string) => Uint8Array | Promise<Uint8Array>;
  /** The transparency log's Ed25519 checkpoint key (`log.key`, 0600) and when it was made. */
  logPrivateKey: KeyObject;
  logPublicKey: KeyObject;
  logCreatedAt: string;
}

/**
 * Keys given to the instance (PEM text from an environment variable, or a file's path): the same
 * for every instance of one registry. A given key wins over the data directory; text over a file.
 */
export interface GivenKeys {
  statusKey?: string | undefined;
  statusKeyFile?: string | undefined;
  logKey?: string | undefined;
  logKeyFile?: string | undefined;
  tsaKey?: string | undefined;
  tsaKeyFile?: string | undefined;
  tsaChain?: string | undefined;
  tsaChainFile?: string | undefined;
  /** More TSA chains for the trusted root, beside the signing one (rotation). */
  tsaExtraChainsFile?: string | undefined;
}

/** The keys named by the environment (`SIGIL_STATUS_KEY`, `SIGIL_STATUS_KEY_FILE`, …), as config.ts parsed it. */
export function givenKeys(env: {
  SIGIL_STATUS_KEY?: string | undefined;
  SIGIL_STATUS_KEY_FILE?: string | undefined;
  SIGIL_LOG_KEY?: string | undefined;
  SIGIL_LOG_KEY_FILE?: string | undefined;
  SIGIL_TSA_KEY?: string | undefined;
  SIGIL_TSA_KEY_FILE?: string | undefined;
  SIGIL_TSA_CHAIN?: string | undefined;
  SIGIL_TSA_CHAIN_FILE?: string | undefined;
  SIGIL_TSA_EXTRA_CHAINS_FILE?: string | undefined;
}): GivenKeys {
  return {
    statusKey: env.SIGIL_STATUS_KEY,
    statusKeyFile: env.SIGIL_STATUS_KEY_FILE,
    logKey: env.SIGIL_LOG_KEY,
    logKeyFile: env.SIGIL_LOG_KEY_FILE,
    tsaKey: env.SIGIL_TSA_KEY,
    tsaKeyFile: env.SIGIL_TSA_KEY_FILE,
    tsaChain: env.SIGIL_TSA_CHAIN,
    tsaChainFile: env.SIGIL_TSA_CHAIN_FILE,
    tsaExtraChainsFile: env.SIGIL_TSA_EXTRA_CHAINS_FILE,
  };
}

export type KeyErrorCode = 'KEY_INVALID' | 'KEY_MISMATCH' | 'KEYS_REQUIRED' | 'KEY_FILE_PERMISSIONS';

/** A key the registry cannot start with: malformed, not the pair it should be, missing where none may be made, or in a file others could read or replace. */
export class KeyError extends Error {
  override readonly name = 'KeyError';
  constructor(
    readonly code: KeyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The files of a key directory (`SIGIL_DATA_DIR/keys`, or one made by `sigil-registry keys init`). */
export const KEY_FILES = {
  statusKey: 'status.key',
  statusPub: 'status.pub',
  statusCreated: 'status.created',
  logKey: 'log.key',
  logPub: 'log.pub',
  logCreated: 'log.created',
  tsaKey: join('tsa', 'tsa.key'),
  tsaChain: join('tsa', 'chain.pem'),
  tsaCa: 'tsa-ca',
} as const;

const EPOCH = new Date(0).toISOString();

/** A file or a directory (`tsa-ca/`) is there. */
async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Creates every key in `dir` that is not there yet (`status.key` 0600 and `status.pub`; `log.key`
 * 0600 and `log.pub`; `tsa-ca/`, the registry's own CA for its TSA, and `tsa/` with the TSA key
 * and chain), each with its creation time. Existing keys are kept. `dir` and `tsa/` are made, or
 * tightened, to 0700 when a key is to be written there. Returns what it created.
 */
export async function createKeyFiles(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  // A directory the user made beforehand (`mkdir keys`, 0755) is tightened before a key goes in.
  if (!(await exists(join(dir, KEY_FILES.statusKey))) || !(await exists(join(dir, KEY_FILES.tsaKey))) || !(await exists(join(dir, KEY_FILES.logKey)))) await chmod(dir, 0o700);
  if (!(await exists(join(dir, KEY_FILES.statusKey)))) {
    const pair = generateKeyPair();
    await writeFile(join(dir, KEY_FILES.statusKey), pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(join(dir, KEY_FILES.statusPub), pair.publicKeyPem);
    await writeFile(join(dir, KEY_FILES.statusCreated), new Date().toISOString());
    created.push('status');
  }
  if (!(await exists(join(dir, KEY_FILES.tsaKey)))) {
    const ca = createCa({ name: 'Sigil registry timestamp CA' });
    await writeCa(join(dir, KEY_FILES.tsaCa), ca);
    const tsa = createTsa(ca, { name: 'Sigil registry timestamp authority' });
    await mkdir(join(dir, 'tsa'), { recursive: true, mode: 0o700 });
    await chmod(join(dir, 'tsa'), 0o700);
    await writeFile(join(dir, KEY_FILES.tsaKey), tsa.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(join(dir, KEY_FILES.tsaChain), tsa.chainPem);
    created.push('tsa');
  }
  // The transparency log's checkpoint key: Ed25519 (C2SP signed-note), apart from the status key.
  if (!(await exists(join(dir, KEY_FILES.logKey)))) {
    const pair = generateKeyPairSync('ed25519');
    await writeFile(join(dir, KEY_FILES.logKey), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    await writeFile(join(dir, KEY_FILES.logPub), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, KEY_FILES.logCreated), new Date().toISOString());
    created.push('log');
  }
  return created;
}

/** One key's PEM text and where it came from (for messages), or undefined when not given. */
interface Source {
  pem: string;
  from: string;
}

/**
 * A file's text; a private key's only once its owner and mode are checked (key-file.ts), on
 * the open file itself, so the file checked is the file read.
 */
async function readKeyFile(path: string, from: string, secret: boolean): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const problem = secret ? keyFileProblem(await handle.stat(), process.getuid?.(), path) : undefined;
    if (problem) throw new KeyError('KEY_FILE_PERMISSIONS', `${from} ${problem}`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** `secret`: a private key, whose file must be protected; a certificate chain is public. */
async function given(text: string | undefined, textVar: string, file: string | undefined, fileVar: string, secret: boolean): Promise<Source | undefined> {
  // A PEM in an environment variable often arrives on one line with `\n` escapes (env files).
  if (text !== undefined) return { pem: text.includes('\n') ? text : text.replaceAll('\\n', '\n'), from: textVar };
  if (file === undefined) return undefined;
  const from = `${fileVar} (${file})`;
  try {
    return { pem: await readKeyFile(file, from, secret), from };
  } catch (cause) {
    if (cause instanceof KeyError) throw cause;
    throw new KeyError('KEY_INVALID', `${fileVar} names ${file}, which cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'}); give a readable PEM file`, { cause });
  }
}

async function fromDir(dir: string, file: string, secret: boolean): Promise<Source | undefined> {
  const path = join(dir, file);
  return (await exists(path)) ? { pem: await readKeyFile(path, path, secret), from: path } : undefined;
}

function privateKey(source: Source, kind: 'status' | 'log'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(source.pem);
  } catch (cause) {
    throw new KeyError('KEY_INVALID', `${source.from} is not a PEM private key (${kind} key: ${kind === 'status' ? 'ECDSA P-256' : 'Ed25519'}, PKCS#8)`, { cause });
  }
  if (kind === 'status' && !(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'))
    throw new KeyError('KEY_INVALID', `${source.from} is a ${key.asymmetricKeyType} key, not ECDSA P-256: the status key signs Sigstore bundles with P-256 (\`sigil-registry keys init <dir>\` makes one)`);
  if (kind === 'log' && key.asymmetricKeyType !== 'ed25519')
    throw new KeyError('KEY_INVALID', `${source.from} is a ${key.asymmetricKeyType} key, not Ed25519: the log key signs C2SP checkpoints with Ed25519 (\`sigil-registry keys init <dir>\` makes one)`);
  return key;
}

/** The public key beside a private key in the data directory must be its own. */
async function matchingPublic(dir: string, file: string, key: KeyObject): Promise<void> {
  const path = join(dir, file);
  if (!(await exists(path))) return;
  let stored: KeyObject;
  try {
    stored = createPublicKey(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new KeyError('KEY_INVALID', `${path} is not a PEM public key`, { cause });
  }
  if (!stored.equals(createPublicKey(key))) throw new KeyError('KEY_MISMATCH', `${path} is not the public key of the private key beside it; restore the pair from the same backup`);
}

function certificates(source: Source): X509Certificate[] {
  const pems = source.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new KeyError('KEY_INVALID', `${source.from} holds no PEM certificate (the TSA chain: TSA certificate first, root last)`);
  try {
    return pems.map((p) => new X509Certificate(p));
  } catch (cause) {
    throw new KeyError('KEY_INVALID', `${source.from} holds a certificate that cannot be read`, { cause });
  }
}

/** The TSA key and chain: a pair, the key the first certificate's, a time-stamping certificate valid now, each certificate issued by the next. */
function checkTsa(keySource: Source, chainSource: Source, now: Date): { key: KeyObject; chain: X509Certificate[] } {
  let key: KeyObject;
  try {
    key = createPrivateKey(keySource.pem);
  } catch (cause) {
    throw new KeyError('KEY_INVALID', `${keySource.from} is not a PEM private key (the TSA key, ECDSA P-256, PKCS#8)`, { cause });
  }
  const chain = certificates(chainSource);
  const tsa = chain[0]!;
  if (!tsa.checkPrivateKey(key)) throw new KeyError('KEY_MISMATCH', `${keySource.from} is not the key of the first certificate in ${chainSource.from}; give the TSA key and its own chain`);
  if (!(tsa.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.8')) throw new KeyError('KEY_INVALID', `the first certificate in ${chainSource.from} lacks the timeStamping extended key usage`);
  if (now < new Date(tsa.validFrom) || now > new Date(tsa.validTo)) throw new KeyError('KEY_INVALID', `the TSA certificate in ${chainSource.from} is not valid now (valid ${tsa.validFrom} to ${tsa.validTo}); issue a new one`);
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey))
      throw new KeyError('KEY_INVALID', `certificate ${i + 1} in ${chainSource.from} is not issued by certificate ${i + 2}: the chain must run from the TSA certificate to its root`);
  }
  return { key, chain };
}

/**
 * More TSA chains (the next TSA before it signs, retired ones after), one after the other in one
 * file, each from its TSA certificate to its self-signed root. A retired TSA's certificate may
 * have expired: a timestamp is judged at its own time.
 */
function extraChains(source: Source): string[] {
  const chains: X509Certificate[][] = [[]];
  for (const cert of certificates(source)) {
    chains.at(-1)!.push(cert);
    if (cert.checkIssued(cert) && cert.verify(cert.publicKey)) chains.push([]);
  }
  if (chains.at(-1)!.length > 0) throw new KeyError('KEY_INVALID', `${source.from} ends with a chain that does not reach a self-signed root: give each TSA chain whole, TSA certificate first, root last`);
  return chains.slice(0, -1).map((chain, n) => {
    if (!(chain[0]!.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.8')) throw new KeyError('KEY_INVALID', `chain ${n + 1} in ${source.from} does not start with a time-stamping certificate`);
    for (let i = 0; i + 1 < chain.length; i++)
      if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) throw new KeyError('KEY_INVALID', `chain ${n + 1} in ${source.from}: certificate ${i + 1} is not issued by the next`);
    return chain.map((c) => c.toString()).join('');
  });
}

async function createdAt(dir: string, file: string): Promise<string> {
  return (await readFile(join(dir, file), 'utf8').catch(() => EPOCH)).trim();
}

/**
 * Loads the status key, the log key and the timestamp authority. Each comes from the given
 * keys (text, then file) when given, else from `dir` (the data directory's `keys/`), where a
 * missing one is created on first start unless `generate` is false: several instances on one
 * database must never each make their own (hosts would see several registries), so on
 * PostgreSQL a missing key refuses the start (`KEYS_REQUIRED`). A given key's time is
 * provisional (now) until `logRegistryKeys` (services/append-log.ts) reads the time its log entry holds.
 */
export async function loadRegistryKeys(dir: string, keys: GivenKeys = {}, options: { generate?: boolean; now?: Date } = {}): Promise<RegistryKeys> {
  const now = options.now ?? new Date();
  const status = await given(keys.statusKey, 'SIGIL_STATUS_KEY', keys.statusKeyFile, 'SIGIL_STATUS_KEY_FILE', true);
  const log = await given(keys.logKey, 'SIGIL_LOG_KEY', keys.logKeyFile, 'SIGIL_LOG_KEY_FILE', true);
  const tsaKey = await given(keys.tsaKey, 'SIGIL_TSA_KEY', keys.tsaKeyFile, 'SIGIL_TSA_KEY_FILE', true);
  const tsaChain = await given(keys.tsaChain, 'SIGIL_TSA_CHAIN', keys.tsaChainFile, 'SIGIL_TSA_CHAIN_FILE', false);
  if ((tsaKey === undefined) !== (tsaChain === undefined))
    throw new KeyError('KEY_INVALID', `${tsaKey ? tsaKey.from : tsaChain!.from} is given without its pair: give the TSA key (SIGIL_TSA_KEY or SIGIL_TSA_KEY_FILE) and its chain (SIGIL_TSA_CHAIN or SIGIL_TSA_CHAIN_FILE) together`);

  const extra = await given(undefined, '', keys.tsaExtraChainsFile, 'SIGIL_TSA_EXTRA_CHAINS_FILE', false);
  const tsaExtraChainPems = extra ? extraChains(extra) : [];
  // Given keys are checked first: a malformed one is the problem to report, not a missing other.
  const givenStatus = status && privateKey(status, 'status');
  const givenLog = log && privateKey(log, 'log');
  const givenTsa = tsaKey && tsaChain && { ...checkTsa(tsaKey, tsaChain, now), chainPem: tsaChain.pem };
  if (!status || !log || !tsaKey) {
    if (options.generate !== false) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await createKeyFiles(dir);
    } else {
      const missing = [
        !status && !(await exists(join(dir, KEY_FILES.statusKey))) && 'the status key (SIGIL_STATUS_KEY or SIGIL_STATUS_KEY_FILE)',
        !log && !(await exists(join(dir, KEY_FILES.logKey))) && 'the log key (SIGIL_LOG_KEY or SIGIL_LOG_KEY_FILE)',
        !tsaKey && !(await exists(join(dir, KEY_FILES.tsaKey))) && 'the TSA key and chain (SIGIL_TSA_KEY_FILE and SIGIL_TSA_CHAIN_FILE)',
      ].filter((m): m is string => typeof m === 'string');
      if (missing.length > 0)
        throw new KeyError(
          'KEYS_REQUIRED',
          `on PostgreSQL every instance must sign with the same keys, so none is made here: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing; make them once with \`sigil-registry keys init <dir>\` and give every instance the same (docs/deploy.md, "Keys")`,
        );
    }
  }

  // The status key (ECDSA P-256): its public half is derived, never read apart from it.
  let statusKey: KeyObject;
  let statusCreatedAt = now.toISOString();
  if (givenStatus) statusKey = givenStatus;
  else {
    statusKey = privateKey((await fromDir(dir, KEY_FILES.statusKey, true))!, 'status');
    await matchingPublic(dir, KEY_FILES.statusPub, statusKey);
    statusCreatedAt = await createdAt(dir, KEY_FILES.statusCreated);
  }
  const statusPublicKey = createPublicKey(statusKey).export({ type: 'spki', format: 'pem' }).toString();

  let logPrivateKey: KeyObject;
  let logCreatedAt = now.toISOString();
  if (givenLog) logPrivateKey = givenLog;
  else {
    logPrivateKey = privateKey((await fromDir(dir, KEY_FILES.logKey, true))!, 'log');
    await matchingPublic(dir, KEY_FILES.logPub, logPrivateKey);
    logCreatedAt = await createdAt(dir, KEY_FILES.logCreated);
  }

  let tsa: { key: KeyObject; chain: X509Certificate[]; chainPem: string };
  if (givenTsa) tsa = givenTsa;
  else {
    if (await exists(join(dir, KEY_FILES.tsaCa))) {
      // The TSA's CA key is a private key in this directory too; then the CA fails loudly if damaged.
      // readCa parses the text checked on the open file, never the path again (a swap in between).
      const caKey = await fromDir(join(dir, KEY_FILES.tsaCa), CA_FILES.privateKey, true);
      await readCa(join(dir, KEY_FILES.tsaCa), caKey ? { privateKeyPem: caKey.pem } : {});
    }
    const chainSource = (await fromDir(dir, KEY_FILES.tsaChain, false)) ?? { pem: '', from: join(dir, KEY_FILES.tsaChain) };
    tsa = { ...checkTsa((await fromDir(dir, KEY_FILES.tsaKey, true))!, chainSource, now), chainPem: chainSource.pem };
  }

  return {
    statusSigner: createSigner({ privateKey: statusKey.export({ type: 'pkcs8', format: 'pem' }).toString() }),
    statusPublicKey,
    statusFingerprint: publicKeyFingerprint(statusPublicKey),
    statusCreatedAt,
    tsaChainPem: tsa.chainPem,
    tsaExtraChainPems,
    timestamp: createTimestampResponder({ privateKey: tsa.key, certificateChain: tsa.chainPem }),
    logPrivateKey,
    logPublicKey: createPublicKey(logPrivateKey),
    logCreatedAt,
  };
}
