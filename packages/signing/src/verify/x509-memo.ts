import { ASN1Obj, X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';

/**
 * Certificates that do their expensive pure work once per process.
 *
 * @sigstore/core re-encodes a certificate's DER from its parsed tree on every `equals`,
 * `publicKey` and `verify` call, byte by byte, and @sigstore/verify compares every certificate
 * of a chain with every other one for each bundle. A host verifying 100 bundles by one publisher
 * certificate under one CA and one TSA spent most of its verification time re-encoding and
 * re-verifying the same three certificates. Each result kept here is a pure function of the
 * certificates' own bytes (the DER encoding of an unchanged tree; whether one certificate's
 * signature verifies under another's key), so keeping it changes no outcome: every bundle still
 * goes through the whole stock chain, date, timestamp and signature verification. Nothing is
 * kept across processes.
 */

/** An ASN.1 node whose DER encoding is computed once (parsed certificates are never changed: `clone()` copies). */
class DerOnce extends ASN1Obj {
  #der: Buffer | undefined;
  override toDER(): Buffer {
    return (this.#der ??= super.toDER());
  }
}

function derOnce(node: ASN1Obj): ASN1Obj {
  return new DerOnce(node.tag, node.value, node.subs.map(derOnce));
}

/** A certificate whose encodings, public key and signature checks by each issuer are computed once. */
class MemoCertificate extends X509Certificate {
  #publicKey: Buffer | undefined;
  /** Signature checks by issuer object (the issuers are themselves memoised instances). */
  readonly #verified = new WeakMap<X509Certificate, boolean>();
  #selfVerified: boolean | undefined;

  #notBefore: number | undefined;
  #notAfter: number | undefined;

  override get publicKey(): Buffer {
    return (this.#publicKey ??= super.publicKey);
  }

  // The validity dates, parsed from their ASN.1 time once (a kept result's re-check asks
  // `validForDate` for every bundle a leaf signed); a new Date each time, so no caller can change
  // the one kept.
  override get notBefore(): Date {
    return new Date((this.#notBefore ??= super.notBefore.getTime()));
  }

  override get notAfter(): Date {
    return new Date((this.#notAfter ??= super.notAfter.getTime()));
  }

  override verify(issuerCertificate?: X509Certificate): boolean {
    if (issuerCertificate === undefined) return (this.#selfVerified ??= super.verify());
    let ok = this.#verified.get(issuerCertificate);
    if (ok === undefined) {
      ok = super.verify(issuerCertificate);
      this.#verified.set(issuerCertificate, ok);
    }
    return ok;
  }
}

function memoCertificate(cert: X509Certificate): X509Certificate {
  return cert instanceof MemoCertificate ? cert : new MemoCertificate(derOnce(cert.root));
}

/** Most distinct bundle certificates kept per process (a host sees few publishers). */
const MAX_LEAVES = 256;
const leaves = new Map<string, X509Certificate>();

/**
 * The one memoised instance for these bundle certificate bytes in this process, so the chain
 * checks of a publisher certificate are computed once however many of its bundles are verified.
 * Never an instance of the trust material: @sigstore/verify tells trusted certificates by
 * identity, and a bundle's certificate must stay untrusted even when its bytes equal a CA's.
 * @throws what `X509Certificate.parse` throws for bytes that are not a certificate
 */
export function sharedCertificate(raw: Uint8Array): X509Certificate {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const id = bytes.toString('base64');
  let hit = leaves.get(id);
  if (!hit) {
    hit = memoCertificate(X509Certificate.parse(Buffer.from(bytes)));
    if (leaves.size >= MAX_LEAVES) leaves.clear();
    leaves.set(id, hit);
  }
  return hit;
}

/** `fn(cert)`, computed once per shared certificate instance (for pure functions of its bytes). */
export function perCertificate<T>(fn: (cert: X509Certificate) => T): (cert: X509Certificate) => T {
  const memo = new WeakMap<X509Certificate, T>();
  return (cert) => {
    if (memo.has(cert)) return memo.get(cert) as T;
    const value = fn(cert);
    memo.set(cert, value);
    return value;
  };
}

/** The same trust material with every CA and TSA certificate memoised (compiled once per policy). */
export function memoTrustMaterial(material: TrustMaterial): TrustMaterial {
  const memo = (cas: TrustMaterial['certificateAuthorities']) => cas.map((ca) => ({ ...ca, certChain: ca.certChain.map(memoCertificate) }));
  return { ...material, certificateAuthorities: memo(material.certificateAuthorities), timestampAuthorities: memo(material.timestampAuthorities) };
}
