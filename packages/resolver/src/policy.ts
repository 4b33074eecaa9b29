import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { deferSchema, mostSpecificPattern, namespacePatternProblem } from '@sigil/manifest';
import { AllowedIdentity, MAX_PEM_BYTES, plainTrustedRoot, SignerPolicy, TrustedRootJson, publicKeyFingerprint, publicKeyPem } from '@sigil/signing/verify';
import { z } from 'zod';
import { ResolveError } from './errors.js';
import { jsonTextProblem, readBoundedTextSync } from './lockfile.js';
import { MAX_OFFLINE_FALLBACK_SECONDS, plainPolicyFile, registryUrlProblem } from './plain-policy.js';
import { trustFileCheck } from './store-safety.js';

const MAX_POLICY_BYTES = 1024 * 1024;
const POLICY_CHECK = trustFileCheck('policy');
// Parsed once per start: zod's compiled fast path (built with new Function on a schema's first
// parse) costs more than it saves for a single parse, so it is skipped (\`jitless\`).
const ONCE = { jitless: true } as const;
const MAX_REFERENCED_FILE_BYTES = 1024 * 1024;

/** A path inside the policy, relative to the policy file. */
const RelativePath = deferSchema(() => z.string().min(1).max(1024));

const NamespacePatternString = deferSchema(() => z.string().superRefine((value, ctx) => {
  const problem = namespacePatternProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}));

export { MAX_OFFLINE_FALLBACK_SECONDS };

/**
 * The fields PolicyFile and PublisherPolicyFile share (the same schemas in both), built with the
 * first of them: a module of deferred schemas builds none at load (see `deferSchema`).
 */
let sharedFields: ReturnType<typeof buildFields> | undefined;
const fields = () => (sharedFields ??= buildFields());
function buildFields() {
  /** Who may sign: public key files, or exact certificate identities under the pinned trusted root. */
  const SignerSetFields = {
    publicKeys: z.array(RelativePath).max(256).default([]),
    identities: z.array(AllowedIdentity).max(256).default([]),
  };

  /** Where the registry is and the trust material pinned for it. */
  const RegistryFields = {
    url: z.url({ protocol: /^https?$/ }).superRefine((value, ctx) => {
      const problem = registryUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** The registry's Sigstore trusted_root.json (organisation CAs and its timestamp authority). */
    trustedRoot: RelativePath,
    /** The registry's status-signing public key (SPKI PEM). */
    statusKey: RelativePath,
    /** Fingerprint the status key must have: `sigil policy init` prints it to compare out of band. */
    statusKeyFingerprint: z.string().optional(),
    /**
     * During a status-key rotation only: the announced next status key (SPKI PEM), accepted beside
     * `statusKey` until the host pins it alone (docs/deploy.md, "Rotation").
     */
    nextStatusKey: RelativePath.optional(),
    /** Fingerprint the next status key must have. */
    nextStatusKeyFingerprint: z.string().optional(),
  };


  const PolicyFields = {
    policyVersion: z.literal(1),
    registry: z.strictObject(RegistryFields),
    /** Per namespace pattern, who may sign manifests; the most specific matching pattern applies. */
    publishers: z
      .array(z.strictObject({ namespace: NamespacePatternString, ...SignerSetFields }))
      .max(256)
      .default([])
      // One entry per pattern: with two, the lookup took the first and silently ignored the other.
      .refine((list) => new Set(list.map((p) => p.namespace)).size === list.length, 'a namespace pattern is listed twice: merge its signers into one entry'),
    /** Whose approvals count, and how many distinct reviewers must approve. */
    reviewers: z
      .strictObject({
        ...SignerSetFields,
        /** Approvals needed for a low-risk version. */
        threshold: z.number().int().min(1).max(16).default(1),
        /** Approvals needed for a high-risk version (any tool not read-only, or flagged by the registry). */
        highRiskThreshold: z.number().int().min(1).max(16).default(2),
      })
      .refine((r) => r.highRiskThreshold >= r.threshold, 'highRiskThreshold must be at least threshold'),
    /** Longest accepted age of a signed status, in seconds (default 24 hours). */
    maxStatusAgeSeconds: z.number().int().min(1).max(30 * 24 * 3600).default(24 * 3600),
    /**
     * Opt-in fallback when the registry cannot be reached at all (connection refused, DNS, timeout):
     * the stored signed status is then accepted up to this age, with a warning. Absent: no fallback.
     * An HTTP answer (401, 403, 429, 5xx) never falls back.
     */
    offline: z.strictObject({ maxStatusAgeSeconds: z.number().int().min(1).max(MAX_OFFLINE_FALLBACK_SECONDS) }).optional(),
    /**
     * How the live tools are held to the pin (`sigil run`, `verifyLiveTools`): `exact` (the default)
     * refuses any added, removed, renamed or changed tool; `pinned-subset` also lets a server leave
     * pinned tools out (each tool shown must still be its pinned form, once), for hosts whose
     * servers show some tools only to hosts declaring a capability (docs/resolver.md).
     */
    liveTools: z.enum(['exact', 'pinned-subset']).default('exact'),
  };
  return { SignerSetFields, RegistryFields, PolicyFields };
}

/**
 * The trust policy file, `sigil.policy.json`. Paths are relative to the file. Everything a host
 * trusts is written here, reviewed like code, and nothing is taken from the registry unpinned.
 * The one schema of this file: `sigil resolve|lock|run` read it whole, `sigil verify` reads its
 * publisher part through {@link PublisherPolicyFile}, derived from the same fields.
 */
export const PolicyFile = deferSchema(() => z.strictObject(fields().PolicyFields).refine((p) => p.offline === undefined || p.offline.maxStatusAgeSeconds <= p.maxStatusAgeSeconds, {
  message: 'offline.maxStatusAgeSeconds must not exceed maxStatusAgeSeconds',
  path: ['offline', 'maxStatusAgeSeconds'],
}));
export type PolicyFile = z.infer<typeof PolicyFile>;

/** A loaded trust policy: files read, keys parsed, ready for verification. */
export interface TrustPolicy {
  path: string;
  registryUrl: string;
  trustedRoot: TrustedRootJson;
  statusKey: string;
  /** The announced next status key during a rotation: a status signed by it is accepted too. */
  nextStatusKey?: string;
  publishers: Array<{ namespace: string; signers: SignerPolicy }>;
  reviewers: SignerPolicy;
  threshold: number;
  highRiskThreshold: number;
  maxStatusAgeMs: number;
  /** Opt-in age for the network-failure fallback (`offline.maxStatusAgeSeconds`); absent: no fallback. */
  offlineFallbackMaxAgeMs?: number;
  /** `pinned-subset` when the policy lets live servers leave pinned tools out; absent: exact. */
  liveTools?: 'exact' | 'pinned-subset';
}

/**
 * Reads a policy file and everything it points to. Any problem is `POLICY_INVALID` with the path
 * inside the policy that is wrong.
 * @example const policy = await loadPolicy('sigil.policy.json');
 */
export async function loadPolicy(path: string): Promise<TrustPolicy> {
  const file = await parsePolicyFile(path, PolicyFile);
  const read = referencedFileReader(path);
  let trustedRoot: TrustedRootJson;
  try {
    trustedRoot = parseRoot(JSON.parse((await read(file.registry.trustedRoot, '/registry/trustedRoot')).text));
  } catch (e) {
    if (e instanceof ResolveError) throw e;
    throw invalid(`the registry trusted root named by the policy is not a Sigstore trusted_root.json`, e);
  }
  const pinnedKey = async (file: string, at: string, what: string, pinned: string | undefined): Promise<string> => {
    const { pem, fingerprint } = publicKeyAt(path, at, await read(file, at), `registry ${what}`);
    if (pinned && pinned !== fingerprint) throw invalid(`the registry ${what} has fingerprint ${fingerprint}, but the policy pins ${pinned}`);
    return pem;
  };
  const statusKey = await pinnedKey(file.registry.statusKey, '/registry/statusKey', 'status key', file.registry.statusKeyFingerprint);
  const nextStatusKey = file.registry.nextStatusKey === undefined ? undefined : await pinnedKey(file.registry.nextStatusKey, '/registry/nextStatusKey', 'next status key', file.registry.nextStatusKeyFingerprint);
  const signers = (set: { publicKeys: string[]; identities: AllowedIdentity[] }, at: string) => readSigners(path, read, set, at, trustedRoot);
  return {
    path,
    registryUrl: file.registry.url.replace(/\/+$/, ''),
    trustedRoot,
    statusKey,
    ...(nextStatusKey === undefined ? {} : { nextStatusKey }),
    publishers: await Promise.all(file.publishers.map(async (p, i) => ({ namespace: p.namespace, signers: await signers(p, `/publishers/${i}`) }))),
    reviewers: await signers(file.reviewers, '/reviewers'),
    threshold: file.reviewers.threshold,
    highRiskThreshold: file.reviewers.highRiskThreshold,
    maxStatusAgeMs: file.maxStatusAgeSeconds * 1000,
    ...(file.offline ? { offlineFallbackMaxAgeMs: file.offline.maxStatusAgeSeconds * 1000 } : {}),
    liveTools: file.liveTools,
  };
}

/**
 * The publisher part of the policy file, as `sigil verify` reads it: the same fields and the same
 * strictness as {@link PolicyFile}, but the registry's status key and the reviewers may be absent
 * (a publisher checking its own bundle pins no registry status).
 */
export const PublisherPolicyFile = deferSchema(() => z.strictObject({
  ...fields().PolicyFields,
  registry: z.strictObject({ ...fields().RegistryFields, url: fields().RegistryFields.url.optional(), trustedRoot: fields().RegistryFields.trustedRoot.optional(), statusKey: fields().RegistryFields.statusKey.optional() }).optional(),
  reviewers: fields().PolicyFields.reviewers.optional(),
}));
export type PublisherPolicyFile = z.infer<typeof PublisherPolicyFile>;

/**
 * Reads the publisher part of a policy file and the keys and trusted root it points to
 * (certificate identities need the trusted root pinned at `registry.trustedRoot`).
 * @example const publishers = await loadPublisherPolicy('sigil.policy.json');
 */
export async function loadPublisherPolicy(path: string): Promise<Array<{ namespace: string; signers: SignerPolicy }>> {
  const file = await parsePolicyFile(path, PublisherPolicyFile);
  const read = referencedFileReader(path);
  let trustedRoot: TrustedRootJson | undefined;
  if (file.registry?.trustedRoot) {
    try {
      trustedRoot = parseRoot(JSON.parse((await read(file.registry.trustedRoot, '/registry/trustedRoot')).text));
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      throw invalid(`the registry trusted root named by the policy is not a Sigstore trusted_root.json`, e);
    }
  }
  return Promise.all(
    file.publishers.map(async (p, i) => {
      if (p.identities.length > 0 && !trustedRoot) throw invalid(`/publishers/${i} names certificate identities but the policy pins no registry.trustedRoot`);
      return { namespace: p.namespace, signers: await readSigners(path, read, p, `/publishers/${i}`, trustedRoot) };
    }),
  );
}

async function parsePolicyFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = readBoundedTextSync(path, MAX_POLICY_BYTES, POLICY_CHECK);
  } catch (e) {
    if (e instanceof ResolveError) throw e;
    throw invalid(`cannot read the policy ${path}: ${(e as Error).message}`, e);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`the policy ${path} is not valid JSON`, e);
  }
  const twice = jsonTextProblem(text, json);
  if (twice) throw invalid(`the policy ${path} ${twice}`);
  // The full policy schema only when the plain test is unsure (it never takes what zod refuses).
  if ((schema as z.ZodType) === PolicyFile) {
    // Typed as PolicyFile: plain-policy.ts writes the output shape out, and must stay assignable.
    const plain: PolicyFile | undefined = plainPolicyFile(json);
    if (plain) return plain as z.infer<S>;
  }
  const parsed = schema.safeParse(json, ONCE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`the policy ${path} is invalid at /${issue.path.join('/')}: ${issue.message}`, parsed.error);
  }
  return parsed.data;
}

/** A file the policy names: its path (absolute, or relative to the working directory) and its text. */
interface NamedFile {
  target: string;
  text: string;
}
type FileReader = (rel: string, at: string) => Promise<NamedFile>;

/** Reads a file the policy names, relative to the policy, bounded. */
function referencedFileReader(policyPath: string): FileReader {
  const base = dirname(resolvePath(policyPath));
  return async (rel, at) => {
    const target = isAbsolute(rel) ? rel : resolvePath(base, rel);
    try {
      return { target, text: readBoundedTextSync(target, MAX_REFERENCED_FILE_BYTES, trustFileCheck(`file the policy's ${at} names`)) };
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      throw invalid(`the policy's ${at} points to ${target}, which cannot be read: ${(e as Error).message}`, e);
    }
  };
}

/** One PUBLIC KEY block and nothing else, as OpenSSL and Node write one (keys.ts's PEM_PUBLIC_KEY). */
const ONE_PUBLIC_KEY_BLOCK = /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]{1,256}-----END PUBLIC KEY-----\r?\n?$/;

/**
 * The key of a file the policy names, refused (`POLICY_INVALID`, naming the policy, the place in it
 * and the file) unless it is one ECDSA P-256 public key: otherwise every signature checked with the
 * policy's keys would fail at each start, a bad reviewer key leaving every approval uncounted
 * (`NOT_APPROVED`) and a bad publisher key reading as `SIGNATURE_INVALID`, the registry blamed
 * for the policy's fault. Kept cheap at start-up: a key in the form OpenSSL writes is fingerprinted
 * from its own bytes, its point checked on the curve (`publicKeyFingerprint`, memoised by text, so
 * the verifier's own fingerprinting of the policy's keys later costs a lookup); only other text is
 * parsed in full: one PUBLIC KEY block laid out otherwise (CRLF line ends, say) by that same
 * function, anything else by `publicKeyPem` (one PUBLIC KEY block of a P-256 key and nothing else,
 * never a private key), then kept in the canonical form it gives, the next fingerprint cheap too.
 */
function publicKeyAt(policyPath: string, at: string, file: NamedFile, what: string): { pem: string; fingerprint: string } {
  try {
    const pem = ONE_PUBLIC_KEY_BLOCK.test(file.text) ? file.text : publicKeyPem(file.text);
    return { pem, fingerprint: publicKeyFingerprint(pem) };
  } catch (e) {
    throw invalid(`the policy ${policyPath}: the ${what} at ${at}, ${file.target}, is not an ECDSA P-256 public key (${(e as Error).message}); name the .pub file of a P-256 key pair (sigil keygen writes one)`, e);
  }
}

/** TrustedRootJson's parse, by the plain test when it is sure (plainTrustedRoot), by zod otherwise. */
function parseRoot(json: unknown): TrustedRootJson {
  return plainTrustedRoot(json) ?? TrustedRootJson.parse(json, ONCE);
}

async function readSigners(policyPath: string, read: FileReader, set: { publicKeys: string[]; identities: AllowedIdentity[] }, at: string, trustedRoot: TrustedRootJson | undefined): Promise<SignerPolicy> {
  const keys = await Promise.all(set.publicKeys.map(async (p, i) => publicKeyAt(policyPath, `${at}/publicKeys/${i}`, await read(p, `${at}/publicKeys/${i}`), at === '/reviewers' ? 'reviewer key' : 'publisher key').pem));
  // The identities were parsed with the policy and the root by TrustedRootJson: SignerPolicy would
  // check again only the keys' count and lengths, so it is built only when one of those fails (for
  // its message).
  if (keys.length <= 256 && keys.every((k) => k.length >= 1 && k.length <= MAX_PEM_BYTES)) {
    return { publicKeys: keys, identities: set.identities.map((i) => ({ ...i })), ...(trustedRoot ? { trustedRoot } : {}) };
  }
  const policy = SignerPolicy.safeParse({ publicKeys: keys, identities: set.identities, ...(trustedRoot ? { trustedRoot } : {}) }, ONCE);
  if (!policy.success) throw invalid(`the signers at ${at} are invalid: ${policy.error.issues[0]?.message}`, policy.error);
  return policy.data;
}

/** The publisher signers the policy allows for a server name (most specific pattern), if any. */
export function publishersFor(policy: TrustPolicy, name: string): SignerPolicy | undefined {
  const pattern = mostSpecificPattern(
    policy.publishers.map((p) => p.namespace),
    name,
  );
  return pattern === undefined ? undefined : policy.publishers.find((p) => p.namespace === pattern)?.signers;
}

function invalid(message: string, cause?: unknown): ResolveError {
  return ResolveError.of('', 'POLICY_INVALID', message, undefined, cause);
}
