import { hash, type KeyObject } from 'node:crypto';
import { canonicalJson } from '@sigil/manifest';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { SigningError } from '../errors.js';
import { certificateFingerprint, publicKeyFingerprint, toPublicKey } from '../keys.js';
import { decodeTrustedRoot, readTrustedRoot, type TrustedRootJson } from '../trusted-root.js';
import { type TrustedLog, trustedLogs } from './log.js';
import type { AllowedIdentity, SignerPolicy } from './policy.js';
import { memoTrustMaterial } from './x509-memo.js';

/** One CA of the trusted root, with the fingerprints policies name it by. */
export interface TrustedCa {
  /** Fingerprints of every certificate of the chain, issuing CA first. */
  fingerprints: string[];
  /** Subject of the issuing CA certificate, for messages. */
  subject: string;
  /** DER of the issuing CA certificate's subject, to match a leaf's issuer quickly. */
  subjectDer: Buffer;
  /** The issuing CA's public key, to confirm which CA signed a leaf. */
  issuerKey: Buffer;
}

/** A signer policy compiled once into what the verifier needs. */
export interface CompiledTrust {
  /** Identifies the trust material: cached verification results are keyed by it. */
  id: string;
  /** The Sigstore trust material (the root's certificates parsed on first read: see CompiledRoot). */
  readonly material: TrustMaterial;
  /** The policy's keys by fingerprint, each imported on first use (PolicyKeys). */
  keys: PolicyKeys;
  /** The root's CAs (parsed on first read). */
  readonly cas: TrustedCa[];
  identities: AllowedIdentity[];
  /** The trusted root's transparency logs Sigil checks entries against (none: entries are refused). */
  logs: TrustedLog[];
}

const compiled = new WeakMap<SignerPolicy, CompiledTrust>();

/**
 * A policy's public keys by fingerprint. The fingerprints are taken when the policy is compiled
 * (publicKeyFingerprint: for a P-256 key in OpenSSL's PEM, from its bytes, its point checked on
 * the curve, so a key that is no valid P-256 key is refused then, KEY_INVALID, as before); each key
 * is imported into OpenSSL only when a signature is verified with it. A start whose every result
 * is sealed by this host (VerificationCache) only asks whether a fingerprint is the policy's.
 */
export class PolicyKeys {
  private readonly pems = new Map<string, string>();
  private readonly imported = new Map<string, KeyObject>();
  constructor(pems: readonly string[]) {
    for (const pem of pems) this.pems.set(publicKeyFingerprint(pem), pem);
  }
  has(fingerprint: string): boolean {
    return this.pems.has(fingerprint);
  }
  /** The key of this fingerprint, imported on first use; undefined when the policy has none. */
  get(fingerprint: string): KeyObject | undefined {
    let key = this.imported.get(fingerprint);
    if (key !== undefined) return key;
    const pem = this.pems.get(fingerprint);
    if (pem === undefined) return undefined;
    key = toPublicKey(pem);
    this.imported.set(fingerprint, key);
    return key;
  }
  fingerprints(): string[] {
    return [...this.pems.keys()];
  }
}

/**
 * A trusted root compiled, whatever keys a policy adds to it: its JSON and logs at once; its
 * protobuf message decoded, its certificates parsed and memoised, and its CAs, on first use
 * (`material()`, `cas()`). A start whose every signature result is sealed by this host (see
 * VerificationCache) never decodes or parses them. Both are pure functions of the root's JSON,
 * which the trust material's id covers; a root that does not decode or whose certificates do not
 * parse is refused (`POLICY_INVALID`) by the first full verification or re-check of a kept claim
 * (which reads them first), and a result this host sealed was verified under the very same root,
 * so none vouches for a root that does not parse.
 */
interface CompiledRoot {
  json: TrustedRootJson | null;
  /** `canonicalJson(json)`, once (the trust material's id covers it). */
  jsonText: string;
  material: () => Omit<TrustMaterial, 'publicKey'>;
  cas: () => TrustedCa[];
  logs: TrustedLog[];
}

/**
 * Roots compiled in this process, by their canonical JSON: a host's policy gives its publishers
 * and its reviewers the same trusted root, which was parsed (X.509, fingerprints) once per signer
 * set. Each result is a pure function of the root's content; the keys' part (`publicKey`) stays
 * per policy. Bounded like the other per-process memos.
 */
const roots = new Map<string, CompiledRoot>();
const MAX_ROOTS = 16;

function compileRoot(value: unknown): CompiledRoot {
  const text = value === undefined ? '' : canonicalJson(value);
  let compiledRoot = roots.get(text);
  if (!compiledRoot) {
    const json = value === undefined ? null : readTrustedRoot(value);
    let parsed: { material: Omit<TrustMaterial, 'publicKey'>; cas: TrustedCa[] } | undefined;
    // Decoded into protobuf-specs' message with the certificates, on first use (above).
    const certificates = () => (parsed ??= parseCertificates(json === null ? undefined : decodeTrustedRoot(json)));
    compiledRoot = { json, jsonText: canonicalJson(json), material: () => certificates().material, cas: () => certificates().cas, logs: trustedLogs(json ?? undefined) };
    if (roots.size >= MAX_ROOTS) roots.clear();
    roots.set(text, compiledRoot);
  }
  return compiledRoot;
}

/** The root's certificates parsed and memoised, and its CAs with their fingerprints. @throws SigningError `POLICY_INVALID` */
function parseCertificates(message: ReturnType<typeof decodeTrustedRoot> | undefined): { material: Omit<TrustMaterial, 'publicKey'>; cas: TrustedCa[] } {
  let material: TrustMaterial;
  try {
    material = memoTrustMaterial(toTrustMaterial(message ?? { mediaType: '', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }, noKeys));
  } catch (cause) {
    throw new SigningError('POLICY_INVALID', 'the trusted root holds a certificate or key that does not parse', { cause });
  }
  const cas: TrustedCa[] = material.certificateAuthorities.map((ca) => {
    const issuing = ca.certChain[0];
    if (!issuing) throw new SigningError('POLICY_INVALID', 'a certificate authority of the trusted root has no certificate');
    return {
      fingerprints: ca.certChain.map((c) => certificateFingerprint(c.root.toDER())),
      subject: issuing.subject.toString('hex'),
      subjectDer: issuing.subject,
      issuerKey: issuing.publicKey,
    };
  });
  const { publicKey: _none, ...shared } = material;
  return { material: shared, cas };
}

/** Replaced by each policy's own key finder (compileTrust). */
function noKeys(): never {
  throw new SigningError('SIGNER_UNTRUSTED', 'the bundle was signed with a key that is not in the policy');
}

/**
 * Compiles a policy (memoised per policy object, so build the policy once and reuse it).
 * @throws SigningError `KEY_INVALID` or `POLICY_INVALID`
 */
export function compileTrust(policy: SignerPolicy): CompiledTrust {
  const hit = compiled.get(policy);
  if (hit) return hit;
  const keys = new PolicyKeys(policy.publicKeys);
  const root = compileRoot(policy.trustedRoot);
  // canonicalJson({ keys, root: root.json }) (RFC 8785: "keys" sorts before "root"), with the
  // root's canonical text made once per root rather than once per policy.
  const id = hash('sha256', `{"keys":${canonicalJson(keys.fingerprints().sort())},"root":${root.jsonText}}`, 'hex');
  let material: TrustMaterial | undefined;
  const trust: CompiledTrust = {
    id,
    get material() {
      return (material ??= { ...root.material(), publicKey: findKey });
    },
    keys,
    get cas() {
      return root.cas();
    },
    identities: policy.identities,
    logs: root.logs,
  };
  compiled.set(policy, trust);
  return trust;

  function findKey(hint: string) {
    const key = keys.get(hint);
    // The hint is unauthenticated: it only selects a key of the policy, the signature decides.
    if (!key) throw new SigningError('SIGNER_UNTRUSTED', `the bundle was signed with a key that is not in the policy (${hint.slice(0, 80) || 'no key hint'})`);
    return { publicKey: key, validFor: () => true };
  }
}
