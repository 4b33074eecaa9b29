import { CertificateIdentity, publicKeyFingerprint } from '@sigil/signing/verify';
import { ServiceError } from '../errors.js';

/** A signer as the API takes it: a public key (SPKI PEM) or an exact certificate identity. */
export interface SignerSpec {
  publicKey?: string | undefined;
  identity?: string | undefined;
}

/** Validates a signer and gives its stored form: kind, value and fingerprint (the identity for identities). */
export function normalizeSigner(spec: SignerSpec): { kind: 'key' | 'identity'; value: string; fingerprint: string } {
  if ((spec.publicKey === undefined) === (spec.identity === undefined)) throw new ServiceError('REQUEST_INVALID', 'give exactly one of publicKey and identity');
  if (spec.publicKey !== undefined) {
    try {
      return { kind: 'key', value: spec.publicKey, fingerprint: publicKeyFingerprint(spec.publicKey) };
    } catch (cause) {
      throw new ServiceError('REQUEST_INVALID', 'publicKey is not an ECDSA P-256 public key (SPKI PEM)', {}, { cause });
    }
  }
  const identity = CertificateIdentity.safeParse(spec.identity);
  if (!identity.success) throw new ServiceError('REQUEST_INVALID', 'identity must be mailto:<email> or an https:// URI');
  return { kind: 'identity', value: identity.data, fingerprint: identity.data };
}
