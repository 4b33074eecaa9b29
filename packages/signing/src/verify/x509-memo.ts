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
    return (this.#der ??= encodeDer(this));
  }
}

/**
 * The DER encoding of an ASN.1 tree, byte for byte what `ASN1Obj.toDER` gives (the tag's one
 * byte, the length in DER's shortest form, then the children's encodings or the value), written
 * into one buffer sized first. @sigstore/core's own encoder grows a fresh stream in 1 KiB steps
 * for every node, which made parsing a certificate's issuer, key and signed part cost about as
 * much as checking its signature; a host sees one leaf certificate per signed release.
 */
export function encodeDer(node: ASN1Obj): Buffer {
  const sizes = new Map<ASN1Obj, number>();
  const total = encodedSize(node, sizes);
  const out = Buffer.allocUnsafe(total);
  const end = writeDer(node, sizes, out, 0);
  if (end !== total) throw new Error('DER encoding size mismatch');
  return out;
}

/** The whole encoded size of `node` (header and content); each node's content length kept in `sizes`. */
function encodedSize(node: ASN1Obj, sizes: Map<ASN1Obj, number>): number {
  let content = 0;
  if (node.subs.length > 0) for (const sub of node.subs) content += encodedSize(sub, sizes);
  else content = node.value.length;
  sizes.set(node, content);
  return 1 + lengthBytes(content) + content;
}

/** Bytes of a DER length: one below 128, else one more than the big-endian bytes of the length. */
function lengthBytes(length: number): number {
  if (length < 128) return 1;
  let bytes = 1;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes++;
  return bytes;
}

function writeDer(node: ASN1Obj, sizes: Map<ASN1Obj, number>, out: Buffer, at: number): number {
  const content = sizes.get(node)!;
  out[at++] = node.tag.toDER();
  if (content < 128) out[at++] = content;
  else {
    const count = lengthBytes(content) - 1;
    out[at++] = 0x80 | count;
    for (let i = count - 1, rest = content; i >= 0; i--, rest = Math.floor(rest / 256)) out[at + i] = rest % 256;
    at += count;
  }
  if (node.subs.length > 0) for (const sub of node.subs) at = writeDer(sub, sizes, out, at);
  else {
    out.set(node.value, at);
    at += node.value.length;
  }
  return at;
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
    hit = memoCertificate(withoutStacks(() => X509Certificate.parse(Buffer.from(bytes))));
    if (leaves.size >= MAX_LEAVES) leaves.clear();
    leaves.set(id, hit);
  }
  return hit;
}

/**
 * `fn()` with no stack traces captured. @sigstore/core's ASN.1 parser tries every OCTET STRING's
 * content as nested DER and catches the error when it is not (a key identifier, a signed
 * certificate timestamp list): several thrown errors per certificate, whose stack traces cost
 * more than the rest of the parse when a process has just started. A parse error that escapes is
 * still thrown, only without a stack.
 */
export function withoutStacks<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
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
