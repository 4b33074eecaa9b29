import { identityFingerprint } from '@sigil/db';
import type { Manifest } from '@sigil/manifest';
import { CertificateIdentity, certificateFingerprint, Fingerprint, publicKeyFingerprint, publicKeyPem, SignerPolicy, verifyManifestBundle, type AllowedIdentity, type TrustedRootJson } from '@sigil/signing/verify';
import { ServiceError } from '../errors.js';

/**
 * A signer as the API takes it: a public key (SPKI PEM), or an exact certificate identity and
 * the CA its certificates must chain to (`SHA256:<base64>` of a registered CA's certificate).
 */
export interface SignerSpec {
  publicKey?: string | undefined;
  identity?: string | undefined;
  ca?: string | undefined;
}

/** A signer as stored: kind, value, fingerprint and, for an identity, its CA (null: unbound). */
export interface StoredSigner {
  kind: 'key' | 'identity';
  value: string;
  fingerprint: string;
  ca: string | null;
}

/** The CAs the registry trusts, as identities name them. */
export interface TrustedCas {
  /** Each registered CA's fingerprint (its issuing certificate), in registration order. */
  registered: string[];
  /** Every certificate of every registered chain: what an identity's `ca` may name. */
  names: ReadonlySet<string>;
  /** Each registered CA's chain (its fingerprint first, then up to its root). */
  chains: ReadonlyMap<string, readonly string[]>;
}

const chainNames = new Map<string, string[]>();

/** The trusted CAs of these registered rows (as `listCertificateAuthorities` reads them). */
export function trustedCas(rows: ReadonlyArray<{ fingerprint: string; chainPem: string }>): TrustedCas {
  const names = new Set<string>();
  const chains = new Map<string, readonly string[]>();
  for (const row of rows) {
    let chain = chainNames.get(row.chainPem);
    if (!chain) {
      chain = (row.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => certificateFingerprint(pem));
      if (chainNames.size >= 256) chainNames.delete(chainNames.keys().next().value!);
      chainNames.set(row.chainPem, chain);
    }
    names.add(row.fingerprint);
    for (const name of chain) names.add(name);
    chains.set(row.fingerprint, chain[0] === row.fingerprint ? chain : [row.fingerprint, ...chain]);
  }
  return { registered: rows.map((r) => r.fingerprint), names, chains };
}

/**
 * Validates a signer and gives its stored form. An identity is bound to a CA: the one it names,
 * which must be trusted; without one, the registry's only CA, or none while no CA is registered
 * (it then counts for the first CA registered). With several CAs trusted, an identity without
 * `ca` is refused: any of them could issue a certificate with that identity.
 */
export function normalizeSigner(spec: SignerSpec, cas: TrustedCas): StoredSigner {
  if ((spec.publicKey === undefined) === (spec.identity === undefined)) throw new ServiceError('REQUEST_INVALID', 'give exactly one of publicKey and identity');
  if (spec.publicKey !== undefined) {
    if (spec.ca !== undefined) throw new ServiceError('REQUEST_INVALID', 'ca binds a certificate identity to its CA; a publicKey takes none');
    // Stored and served as its canonical SPKI PEM: never the text as given, which could hold a
    // private key (whose public half a key parser would take) or anything else around the key.
    let value: string;
    try {
      value = publicKeyPem(spec.publicKey);
    } catch (cause) {
      const privateKey = /PRIVATE KEY-----/.test(spec.publicKey) ? ': the text holds a private key, which is never taken; send its public half' : '';
      throw new ServiceError('REQUEST_INVALID', `publicKey is not an ECDSA P-256 public key (SPKI PEM)${privateKey}`, {}, { cause });
    }
    return { kind: 'key', value, fingerprint: publicKeyFingerprint(value), ca: null };
  }
  const identity = CertificateIdentity.safeParse(spec.identity);
  if (!identity.success) throw new ServiceError('REQUEST_INVALID', 'identity must be mailto:<email> or an https:// URI');
  const ca = spec.ca === undefined ? implicitCa(identity.data, cas) : namedCa(spec.ca, cas);
  return { kind: 'identity', value: identity.data, fingerprint: identityFingerprint(identity.data, ca), ca };
}

function namedCa(ca: string, cas: TrustedCas): string {
  if (!Fingerprint.safeParse(ca).success) throw new ServiceError('REQUEST_INVALID', 'ca must be a CA certificate fingerprint, SHA256: and 43 base64 characters (sigil ca register prints it)');
  if (!cas.names.has(ca)) throw new ServiceError('REQUEST_INVALID', `ca ${ca} is no certificate authority this registry trusts; register it first (sigil ca register), or name a registered one`);
  // One name per CA: a registered CA is itself; another certificate of a registered chain (its
  // root, an intermediate above it) is the registered CA whose chain holds it, so I and its root
  // R give one stored string, one fingerprint, one signer. Held by several chains, it is refused:
  // which CA's leaves it would admit is then a choice the registry does not make.
  if (cas.chains.has(ca)) return ca;
  const holders = [...cas.chains].filter(([, chain]) => chain.includes(ca)).map(([registered]) => registered);
  if (holders.length === 1) return holders[0]!;
  throw new ServiceError('REQUEST_INVALID', `ca ${ca} is in the chains of ${holders.length} registered certificate authorities (${holders.join(', ')}); name the one that issues the identity's certificates`);
}

/**
 * Whether a leaf could be under both CAs: either unbound, the same, or both in one registered
 * chain (a leaf of that chain matches a binding to either, as enforcement checks the whole chain).
 */
export function casOverlap(a: string | null, b: string | null, cas: TrustedCas): boolean {
  if (a === null || b === null || a === b) return true;
  for (const chain of cas.chains.values()) if (chain.includes(a) && chain.includes(b)) return true;
  return false;
}

function implicitCa(identity: string, cas: TrustedCas): string | null {
  if (cas.registered.length === 0) return null;
  if (cas.registered.length === 1) return cas.registered[0]!;
  throw new ServiceError('REQUEST_INVALID', `the registry trusts ${cas.registered.length} certificate authorities, and any of them could issue a certificate for ${identity}; name the one that issues it (ca, or --ca)`);
}

/**
 * The CA a stored identity counts for now: its own; unbound, the registry's only CA (or none while
 * no CA is registered, when no certificate verifies anyway). `false`: it counts for nothing, as an
 * unbound identity stored while several CAs were trusted (fail closed; re-add it with its ca).
 */
export function effectiveCa(row: { ca: string | null }, cas: TrustedCas): string | undefined | false {
  if (row.ca !== null) return row.ca;
  if (cas.registered.length === 0) return undefined;
  if (cas.registered.length === 1) return cas.registered[0]!;
  return false;
}

/** The policy identities of these stored signers (keys and unusable identities left out). */
export function policyIdentities(rows: ReadonlyArray<{ kind: 'key' | 'identity'; value: string; ca: string | null }>, cas: TrustedCas): AllowedIdentity[] {
  const out = new Map<string, AllowedIdentity>();
  for (const row of rows) {
    if (row.kind !== 'identity') continue;
    const ca = effectiveCa(row, cas);
    if (ca === false) continue;
    out.set(identityFingerprint(row.value, ca), ca === undefined ? { identity: row.value } : { identity: row.value, ca });
  }
  return [...out.values()];
}

/**
 * Whether a verified certificate signer (its SAN and CA chain, issuing CA first) is this stored
 * identity: the same SAN, under the CA the identity is bound to.
 */
export function identityMatches(row: { value: string; ca: string | null }, identity: string | undefined, caChain: readonly string[], cas: TrustedCas): boolean {
  if (identity === undefined || identity !== row.value) return false;
  const ca = effectiveCa(row, cas);
  return ca !== false && (ca === undefined || caChain.includes(ca));
}

/**
 * Whether two stored signers may be the same signer: one key, or one identity under CAs that
 * overlap (casOverlap), so that one leaf could be both.
 */
export function sameSigner(a: StoredSigner, b: StoredSigner, cas: TrustedCas): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'key') return a.fingerprint === b.fingerprint;
  return a.value === b.value && casOverlap(a.ca, b.ca, cas);
}

/** How a stored signer reads in a sentence. */
export function signerLabel(s: { kind: 'key' | 'identity'; fingerprint: string; value: string; ca: string | null }): string {
  return s.kind === 'key' ? s.fingerprint : s.ca ? `${s.value} (under CA ${s.ca})` : s.value;
}

/**
 * The CA chain (issuing CA first) of the certificate that signed a version's manifest, read by
 * verifying its stored bundle again under the trusted root: a version row keeps the identity, not
 * the CA. Empty for a key, or when the bundle no longer verifies (then no CA-bound identity
 * matches it: fail closed).
 */
export function manifestSignerChain(row: { signerKind: string; signerIdentity: string | null; bundle: string }, manifest: Manifest, trustedRoot: TrustedRootJson): string[] {
  if (row.signerKind !== 'certificate' || !row.signerIdentity) return [];
  try {
    const { signer } = verifyManifestBundle(JSON.parse(row.bundle) as Record<string, unknown>, manifest, SignerPolicy.parse({ identities: [{ identity: row.signerIdentity }], trustedRoot }));
    return signer.kind === 'certificate' ? signer.caChain : [];
  } catch {
    return [];
  }
}
