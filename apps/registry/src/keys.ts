import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, readCa, writeCa, type BundleSigner } from '@sigil/signing/sign';
import { publicKeyFingerprint } from '@sigil/signing/verify';

/** The registry's own key material, created on first start and kept in the data directory. */
export interface RegistryKeys {
  statusSigner: BundleSigner;
  statusPublicKey: string;
  statusFingerprint: string;
  statusCreatedAt: string;
  /** The TSA's certificate chain (TSA certificate first, root last). */
  tsaChainPem: string;
  timestamp: (body: Uint8Array, contentType?: string) => Uint8Array | Promise<Uint8Array>;
  /** The transparency log's Ed25519 checkpoint key (`log.key`, 0600) and when it was made. */
  logPrivateKey: KeyObject;
  logPublicKey: KeyObject;
  logCreatedAt: string;
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

/**
 * Loads the status key and the timestamp authority from `<dir>`, creating them on first start:
 * `status.key` (0600) and `status.pub`; `tsa-ca/` (the registry's own CA for its TSA) and
 * `tsa/` with the TSA key and chain.
 */
export async function loadRegistryKeys(dir: string): Promise<RegistryKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'status.key');
  if (!(await exists(keyPath))) {
    const pair = generateKeyPair();
    await writeFile(keyPath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(join(dir, 'status.pub'), pair.publicKeyPem);
    await writeFile(join(dir, 'status.created'), new Date().toISOString());
  }
  await chmod(keyPath, 0o600);
  const privateKeyPem = await readFile(keyPath, 'utf8');
  const statusPublicKey = await readFile(join(dir, 'status.pub'), 'utf8');
  const statusCreatedAt = (await readFile(join(dir, 'status.created'), 'utf8').catch(() => new Date(0).toISOString())).trim();

  const tsaDir = join(dir, 'tsa');
  if (!(await exists(join(tsaDir, 'tsa.key')))) {
    const ca = createCa({ name: 'Sigil registry timestamp CA' });
    await writeCa(join(dir, 'tsa-ca'), ca);
    const tsa = createTsa(ca, { name: 'Sigil registry timestamp authority' });
    await mkdir(tsaDir, { recursive: true, mode: 0o700 });
    await writeFile(join(tsaDir, 'tsa.key'), tsa.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(join(tsaDir, 'chain.pem'), tsa.chainPem);
  }
  await readCa(join(dir, 'tsa-ca')); // fails loudly if the CA files were damaged
  // The transparency log's checkpoint key: Ed25519 (C2SP signed-note), apart from the status key.
  const logKeyPath = join(dir, 'log.key');
  if (!(await exists(logKeyPath))) {
    const pair = generateKeyPairSync('ed25519');
    await writeFile(logKeyPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    await writeFile(join(dir, 'log.pub'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(join(dir, 'log.created'), new Date().toISOString());
  }
  await chmod(logKeyPath, 0o600);
  const logPrivateKey = createPrivateKey(await readFile(logKeyPath, 'utf8'));
  if (logPrivateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${logKeyPath} is not an Ed25519 key`);
  const logCreatedAt = (await readFile(join(dir, 'log.created'), 'utf8').catch(() => new Date(0).toISOString())).trim();
  const tsaKey = await readFile(join(tsaDir, 'tsa.key'), 'utf8');
  const tsaChainPem = await readFile(join(tsaDir, 'chain.pem'), 'utf8');
  return {
    statusSigner: createSigner({ privateKey: privateKeyPem }),
    statusPublicKey,
    statusFingerprint: publicKeyFingerprint(statusPublicKey),
    statusCreatedAt,
    tsaChainPem,
    timestamp: createTimestampResponder({ privateKey: tsaKey, certificateChain: tsaChainPem }),
    logPrivateKey,
    logPublicKey: createPublicKey(logPrivateKey),
    logCreatedAt,
  };
}
