import { namespacePatternProblem } from '@sigil/manifest';
import { FINGERPRINT_PATTERN, IDENTITY_PATTERN, type AllowedIdentity } from '@sigil/signing/verify';
import { boundedText, hasOnlyKeys } from './plain.js';

/**
 * The policy file as PolicyFile parses it, without building the schema: a host reads its policy
 * at every start, and PolicyFile is the largest schema a warm start would otherwise build (about
 * 60 zod schemas, and the first use of zod's classes). Like the other plain tests (plain.ts), it
 * answers only when it is sure: it gives what `PolicyFile.parse(value)` gives (the defaults filled
 * in, the same refinements), or undefined, and then zod decides and words the refusal. It never
 * takes a value zod refuses: plain-policy.test.ts compares the two on generated policies and their
 * mutations.
 * @internal
 */
export function plainPolicyFile(value: unknown): PlainPolicyFile | undefined {
  if (!hasOnlyKeys(value, POLICY_KEYS) || value.policyVersion !== 1) return undefined;
  const registry = plainRegistry(value.registry);
  if (!registry) return undefined;
  const publishers = Object.hasOwn(value, 'publishers') ? plainList(value.publishers, plainPublisher) : [];
  if (!publishers || new Set(publishers.map((p) => p.namespace)).size !== publishers.length) return undefined;
  const reviewers = plainReviewers(value.reviewers);
  if (!reviewers) return undefined;
  const maxStatusAgeSeconds = Object.hasOwn(value, 'maxStatusAgeSeconds') ? value.maxStatusAgeSeconds : 24 * 3600;
  if (!wholeNumber(maxStatusAgeSeconds, 1, 30 * 24 * 3600)) return undefined;
  let offline: { maxStatusAgeSeconds: number } | undefined;
  if (Object.hasOwn(value, 'offline')) {
    const o = value.offline;
    if (!hasOnlyKeys(o, OFFLINE_KEYS) || !wholeNumber(o.maxStatusAgeSeconds, 1, MAX_OFFLINE_FALLBACK_SECONDS) || o.maxStatusAgeSeconds > maxStatusAgeSeconds) return undefined;
    offline = { maxStatusAgeSeconds: o.maxStatusAgeSeconds };
  }
  const liveTools = Object.hasOwn(value, 'liveTools') ? value.liveTools : 'exact';
  if (liveTools !== 'exact' && liveTools !== 'pinned-subset') return undefined;
  return { policyVersion: 1, registry, publishers, reviewers, maxStatusAgeSeconds, ...(offline ? { offline } : {}), liveTools };
}

/** Longest age a host may opt in to for the network-failure fallback: much shorter than online. */
export const MAX_OFFLINE_FALLBACK_SECONDS = 3600;

const POLICY_KEYS: ReadonlySet<string> = new Set(['policyVersion', 'registry', 'publishers', 'reviewers', 'maxStatusAgeSeconds', 'offline', 'liveTools']);
const REGISTRY_KEYS: ReadonlySet<string> = new Set(['url', 'trustedRoot', 'statusKey', 'statusKeyFingerprint', 'nextStatusKey', 'nextStatusKeyFingerprint']);
const PUBLISHER_KEYS: ReadonlySet<string> = new Set(['namespace', 'publicKeys', 'identities']);
const REVIEWER_KEYS: ReadonlySet<string> = new Set(['publicKeys', 'identities', 'threshold', 'highRiskThreshold']);
const IDENTITY_KEYS: ReadonlySet<string> = new Set(['identity', 'ca']);
const OFFLINE_KEYS: ReadonlySet<string> = new Set(['maxStatusAgeSeconds']);
/** @internal Every key list above, for the test that holds them to the schema's shapes. */
export const PLAIN_POLICY_KEYS = { policy: POLICY_KEYS, registry: REGISTRY_KEYS, publisher: PUBLISHER_KEYS, reviewers: REVIEWER_KEYS, identity: IDENTITY_KEYS, offline: OFFLINE_KEYS };

/**
 * PolicyFile's output shape, written here so that this module needs nothing of policy.ts (which
 * imports it); policy.ts checks at compile time that it is assignable to PolicyFile.
 */
export interface PlainPolicyFile {
  policyVersion: 1;
  registry: Registry;
  publishers: Array<{ namespace: string } & Signers>;
  reviewers: Signers & { threshold: number; highRiskThreshold: number };
  maxStatusAgeSeconds: number;
  offline?: { maxStatusAgeSeconds: number };
  liveTools: 'exact' | 'pinned-subset';
}
interface Registry {
  url: string;
  trustedRoot: string;
  statusKey: string;
  statusKeyFingerprint?: string;
  nextStatusKey?: string;
  nextStatusKeyFingerprint?: string;
}
interface Signers {
  publicKeys: string[];
  identities: AllowedIdentity[];
}

/**
 * Why a registry URL (an http or https URL) cannot be the base of the host's requests, or
 * undefined: each request is the URL with its own path appended, so it is an origin and a path
 * only. Credentials (`user:pw@`, even an empty `@`) make every request fail in fetch, which would
 * read as an unreachable registry (and so as the opt-in fallback); a query or a fragment (even an
 * empty `?` or `#`, which WHATWG URL drops from `search` and `hash`) swallows the path appended.
 * Checked on the text: outside the authority, these characters mean nothing else.
 */
export function registryUrlProblem(url: string): string | undefined {
  if (url.includes('@')) return 'the registry URL must not carry credentials (user:password@): give its origin and path only, and the token with --token or SIGIL_TOKEN';
  if (url.includes('?') || url.includes('#')) return 'the registry URL must not carry a query or a fragment (? or #): each request appends its own path to it';
  return undefined;
}

function plainRegistry(r: unknown): Registry | undefined {
  if (!hasOnlyKeys(r, REGISTRY_KEYS) || !plainHttpUrl(r.url) || registryUrlProblem(r.url) !== undefined || !relativePath(r.trustedRoot) || !relativePath(r.statusKey)) return undefined;
  const out: Registry = { url: r.url, trustedRoot: r.trustedRoot, statusKey: r.statusKey };
  for (const key of ['statusKeyFingerprint', 'nextStatusKeyFingerprint'] as const) {
    if (!Object.hasOwn(r, key)) continue;
    const v = r[key];
    if (typeof v !== 'string') return undefined;
    out[key] = v;
  }
  if (Object.hasOwn(r, 'nextStatusKey')) {
    if (!relativePath(r.nextStatusKey)) return undefined;
    out.nextStatusKey = r.nextStatusKey;
  }
  return out;
}

/**
 * A URL `z.url({ protocol: /^https?$/ })` takes and gives back as it is: nothing its trim or its
 * tab and newline stripping would change, `http://` or `https://` written out (zod's own rule for
 * an http protocol pattern), and parsed by WHATWG URL with that protocol.
 */
function plainHttpUrl(v: unknown): v is string {
  if (typeof v !== 'string' || v !== v.trim() || /[\t\n\r]/.test(v) || !/^https?:\/\//.test(v)) return false;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return false;
  }
  return url.protocol === 'http:' || url.protocol === 'https:';
}

const relativePath = (v: unknown): v is string => boundedText(v, 1, 1024);

/** `z.number().int().min(min).max(max)` for bounds inside the safe integers. */
function wholeNumber(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** `z.array(item).max(256)`, each item as `item` gives it; an index loop, since every() skips holes zod refuses. */
function plainList<T>(v: unknown, item: (x: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(v) || v.length > 256) return undefined;
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = item(v[i]);
    if (x === undefined) return undefined;
    out.push(x);
  }
  return out;
}

function plainIdentity(v: unknown): AllowedIdentity | undefined {
  if (!hasOnlyKeys(v, IDENTITY_KEYS) || typeof v.identity !== 'string' || v.identity.length > 1024 || !IDENTITY_PATTERN.test(v.identity)) return undefined;
  if (!Object.hasOwn(v, 'ca')) return { identity: v.identity };
  return typeof v.ca === 'string' && FINGERPRINT_PATTERN.test(v.ca) ? { identity: v.identity, ca: v.ca } : undefined;
}

/** The signer set both publishers and reviewers carry: `publicKeys` and `identities`, each defaulting to []. */
function plainSigners(v: Record<string, unknown>): Signers | undefined {
  const publicKeys = Object.hasOwn(v, 'publicKeys') ? plainList(v.publicKeys, (k) => (relativePath(k) ? k : undefined)) : [];
  const identities = Object.hasOwn(v, 'identities') ? plainList(v.identities, plainIdentity) : [];
  return publicKeys && identities ? { publicKeys, identities } : undefined;
}

function plainPublisher(v: unknown): PlainPolicyFile['publishers'][number] | undefined {
  if (!hasOnlyKeys(v, PUBLISHER_KEYS) || typeof v.namespace !== 'string' || namespacePatternProblem(v.namespace) !== undefined) return undefined;
  const signers = plainSigners(v);
  return signers ? { namespace: v.namespace, ...signers } : undefined;
}

function plainReviewers(v: unknown): PlainPolicyFile['reviewers'] | undefined {
  if (!hasOnlyKeys(v, REVIEWER_KEYS)) return undefined;
  const signers = plainSigners(v);
  const threshold = Object.hasOwn(v, 'threshold') ? v.threshold : 1;
  const highRiskThreshold = Object.hasOwn(v, 'highRiskThreshold') ? v.highRiskThreshold : 2;
  if (!signers || !wholeNumber(threshold, 1, 16) || !wholeNumber(highRiskThreshold, 1, 16) || highRiskThreshold < threshold) return undefined;
  return { ...signers, threshold, highRiskThreshold };
}
