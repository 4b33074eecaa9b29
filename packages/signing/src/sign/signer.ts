import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import type { DSSEBundleBuilder, Signature, Signer, Witness } from '@sigstore/sign';
import { SigningError, wrapAsync } from '../errors.js';
import { parseCertificate, publicKeyFingerprint } from '../keys.js';
import { parsePrivateKey, readPem, readPrivateKey } from './keys.js';
import { ecdsaSign } from './der.js';
import type { TimestampResponder } from './tsa.js';

export type { SerializedBundle };

/** Signs DSSE payloads into Sigstore bundles (v0.3 JSON). */
export interface BundleSigner {
  /** `SHA256:<base64>` of the signing key. */
  readonly keyFingerprint: string;
  /** The leaf certificate (PEM) when signing with one. */
  readonly certificatePem?: string;
  /** Signs `payload` as a DSSE envelope of `payloadType`, with a timestamp when one is configured. */
  signDsse(payload: Uint8Array, payloadType: string): Promise<SerializedBundle>;
}

/** Where a signer gets its RFC 3161 timestamp. */
export type TimestampSource =
  /** A Sigstore timestamp-authority compatible URL (base URL, or the full `/api/v1/timestamp` URL), through the stock `TSAWitness`. */
  | { url: string; timeoutMs?: number }
  /** An in-process responder (tests, benchmarks, the registry signing for itself). */
  | { responder: TimestampResponder };

/** Options for {@link createSigner}. */
export interface SignerOptions {
  /** ECDSA P-256 private key (PEM or KeyObject). */
  privateKey: string | KeyObject;
  /** Leaf certificate (PEM) for `privateKey`; without it the bundle names the key by its fingerprint. */
  certificate?: string;
  /** Required with a certificate: a certificate bundle only verifies with a trusted timestamp. */
  timestamp?: TimestampSource;
  /** The time the certificate must be valid at (default: now); tests sign "in the past" with it. */
  now?: Date;
}

/**
 * Makes a signer from a key, or a key and its leaf certificate plus a timestamp source.
 * @example
 * const signer = createSigner({ privateKey: keyPem });
 * const signer2 = createSigner({ privateKey: keyPem, certificate: certPem, timestamp: { url: 'https://registry.example' } });
 * @throws SigningError `KEY_INVALID` (not P-256, certificate of another key), `CERTIFICATE_INVALID` (not valid now), `TIMESTAMP_INVALID` (certificate without timestamp source)
 */
export function createSigner(options: SignerOptions): BundleSigner {
  const key = parsePrivateKey(options.privateKey);
  const keyFingerprint = publicKeyFingerprint(key);
  const certificatePem = options.certificate;
  if (certificatePem !== undefined) {
    const cert = parseCertificate(certificatePem);
    if (!cert.checkPrivateKey(key)) throw new SigningError('KEY_INVALID', 'the certificate is not for this private key');
    const now = (options.now ?? new Date()).getTime();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw new SigningError('CERTIFICATE_INVALID', `the certificate is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
    if (!options.timestamp) throw new SigningError('TIMESTAMP_INVALID', 'signing with a certificate needs a timestamp authority (--tsa), or the bundle would not verify once the certificate expires');
  }
  // A key-only signer needs no witness: its bundle is the envelope and the key's hint, built
  // here in one step (the same JSON bundleToJSON writes for it; signer.test.ts holds them equal)
  // instead of through the builder's promises and protobuf-shaped objects (the registry signs a
  // status per request this way).
  const timestamp = options.timestamp;
  if (certificatePem === undefined && timestamp === undefined) {
    return {
      keyFingerprint,
      async signDsse(payload, payloadType) {
        return keyOnlyDsseBundle(payload, payloadType, key, keyFingerprint);
      },
    };
  }
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  const signer: Signer = {
    async sign(data: Buffer): Promise<Signature> {
      return {
        signature: ecdsaSign(data, key),
        key: certificatePem !== undefined ? { $case: 'x509Certificate', certificate: certificatePem } : { $case: 'publicKey', publicKey: publicKeyPem, hint: keyFingerprint },
      };
    },
  };
  // sigstore-js's builder (and its TSA client, Fulcio's and their HTTP stack) only for a bundle
  // that needs it: loading @sigstore/sign was a twentieth of every registry start, which signs
  // key-only.
  let builder: Promise<DSSEBundleBuilder> | undefined;
  const build = (): Promise<DSSEBundleBuilder> =>
    (builder ??= import('@sigstore/sign').then(({ DSSEBundleBuilder, TSAWitness }) => {
      const witnesses: Witness[] = [];
      if (timestamp && 'url' in timestamp) witnesses.push(new TSAWitness({ tsaBaseURL: timestamp.url, timeout: timestamp.timeoutMs ?? 10_000, retry: 1 }));
      else if (timestamp) witnesses.push(responderWitness(timestamp.responder));
      return new DSSEBundleBuilder({ signer, witnesses, certificateChain: false });
    }));
  return {
    keyFingerprint,
    ...(certificatePem !== undefined ? { certificatePem } : {}),
    async signDsse(payload, payloadType) {
      const bundle = await wrapAsync('SIGNING_FAILED', 'signing failed', async () => (await build()).create({ data: Buffer.from(payload), type: payloadType }));
      return bundleToJSON(bundle);
    },
  };
}

/** DSSE v1 pre-authentication encoding: what a DSSE signature covers. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${payload.length} `, 'ascii'), payload]);
}

/** A v0.3 bundle of one DSSE envelope signed by a bare key, named by its fingerprint. */
function keyOnlyDsseBundle(payload: Uint8Array, payloadType: string, key: KeyObject, keyFingerprint: string): SerializedBundle {
  let sig: Buffer;
  try {
    sig = ecdsaSign(preAuthEncoding(payloadType, payload), key);
  } catch (e) {
    throw new SigningError('SIGNING_FAILED', `signing failed: ${(e as Error).message}`, { cause: e });
  }
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: keyFingerprint }, timestampVerificationData: {} },
    dsseEnvelope: { payload: bytes.toString('base64'), payloadType, signatures: [{ sig: sig.toString('base64'), keyid: keyFingerprint }] },
  } as SerializedBundle;
}

/**
 * Reads a signer's key (and certificate) from files.
 * @example const signer = await loadSigner({ keyPath: 'acme.key', certificatePath: 'acme.crt', tsaUrl: 'http://127.0.0.1:8787' });
 * @throws SigningError as {@link createSigner}, or `IO_FAILED`
 */
export async function loadSigner(options: { keyPath: string; certificatePath?: string; tsaUrl?: string }): Promise<BundleSigner> {
  const privateKey = await readPrivateKey(options.keyPath);
  const certificate = options.certificatePath ? await readPem(options.certificatePath) : undefined;
  return createSigner({ privateKey, ...(certificate !== undefined ? { certificate } : {}), ...(options.tsaUrl ? { timestamp: { url: options.tsaUrl } } : {}) });
}

/** A witness that asks an in-process responder, with the same request the stock TSA client sends. */
function responderWitness(responder: TimestampResponder): Witness {
  return {
    async testify(content) {
      const signature = content.$case === 'dsseEnvelope' ? content.dsseEnvelope.signatures[0]!.sig : content.messageSignature.signature;
      const request = { artifactHash: createHash('sha256').update(signature).digest('base64'), hashAlgorithm: 'sha256' };
      const response = responder(Buffer.from(JSON.stringify(request)), 'application/json');
      return { rfc3161Timestamps: [{ signedTimestamp: Buffer.from(response) }] };
    },
  };
}
