import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { SigningError } from '../errors.js';
import { assertP256, MAX_PEM_BYTES, publicKeyFingerprint, publicKeyPem } from '../keys.js';

/** An ECDSA P-256 key pair in PEM: PKCS#8 private, SPKI public, and the public key's fingerprint. */
export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  /** `SHA256:<base64>` of the SPKI (the bundle key hint). */
  fingerprint: string;
}

/**
 * Generates an ECDSA P-256 key pair.
 * @example const { privateKeyPem, publicKeyPem, fingerprint } = generateKeyPair();
 */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: publicKeyFingerprint(publicKey),
  };
}

/**
 * Writes `path` (the private key, mode 0600) and `path.pub` (the public key). Never overwrites.
 * @example await writeKeyPair('acme.key', generateKeyPair()); // acme.key + acme.key.pub
 * @throws SigningError `FILE_EXISTS` or `IO_FAILED`
 */
export async function writeKeyPair(path: string, pair: KeyPair): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  const publicKeyPath = `${path}.pub`;
  await writeNew(path, pair.privateKeyPem, 0o600);
  await writeNew(publicKeyPath, pair.publicKeyPem, 0o644);
  return { privateKeyPath: path, publicKeyPath };
}

/**
 * Reads a PKCS#8 (or SEC1) PEM private key, refusing anything but ECDSA P-256.
 * @example const key = await readPrivateKey('acme.key');
 * @throws SigningError `KEY_INVALID` or `IO_FAILED`
 */
export async function readPrivateKey(path: string): Promise<KeyObject> {
  return parsePrivateKey(await readPem(path));
}

/**
 * Reads an SPKI PEM public key (ECDSA P-256) and returns its PEM text.
 * @example const pem = await readPublicKey('acme.key.pub');
 * @throws SigningError `KEY_INVALID` or `IO_FAILED`
 */
export async function readPublicKey(path: string): Promise<string> {
  return publicKeyPem(await readPem(path));
}

/** Parses a PEM private key, refusing anything but ECDSA P-256. */
export function parsePrivateKey(key: string | KeyObject): KeyObject {
  let object: KeyObject;
  if (typeof key === 'string') {
    try {
      object = createPrivateKey(key);
    } catch (cause) {
      throw new SigningError('KEY_INVALID', 'not a PEM private key', { cause });
    }
  } else object = key;
  if (object.type !== 'private') throw new SigningError('KEY_INVALID', 'expected a private key');
  assertP256(object);
  return object;
}

/** Reads a PEM file of at most 64 KiB. */
export async function readPem(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SigningError('IO_FAILED', `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  if (text.length > MAX_PEM_BYTES) throw new SigningError('KEY_INVALID', `${path} is larger than ${MAX_PEM_BYTES} bytes`);
  return text;
}

/** Creates a file that must not exist yet, with `mode` (kept even under a permissive umask). */
export async function writeNew(path: string, data: string, mode: number): Promise<void> {
  try {
    await writeFile(path, data, { mode, flag: 'wx' });
    await chmod(path, mode);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new SigningError('FILE_EXISTS', `${path} already exists; it is never overwritten`, { cause });
    throw new SigningError('IO_FAILED', `cannot write ${path}: ${code ?? String(cause)}`, { cause });
  }
}
