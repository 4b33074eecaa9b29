import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { mostSpecificPattern, namespacePatternProblem } from '@sigil/manifest';
import { AllowedIdentity, SignerPolicy, TrustedRootJson, publicKeyFingerprint } from '@sigil/signing/verify';
import { z } from 'zod';
import { ResolveError } from './errors.js';
import { readBoundedText } from './lockfile.js';

const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_REFERENCED_FILE_BYTES = 1024 * 1024;

/** A path inside the policy, relative to the policy file. */
const RelativePath = z.string().min(1).max(1024);

const NamespacePatternString = z.string().superRefine((value, ctx) => {
  const problem = namespacePatternProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Who may sign: public key files, or exact certificate identities under the pinned trusted root. */
const SignerSetFields = {
  publicKeys: z.array(RelativePath).max(256).default([]),
  identities: z.array(AllowedIdentity).max(256).default([]),
};

/**
 * The trust policy file, `sigil.policy.json`. Paths are relative to the file. Everything a host
 * trusts is written here, reviewed like code, and nothing is taken from the registry unpinned.
 */
export const PolicyFile = z.strictObject({
  policyVersion: z.literal(1),
  registry: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    /** The registry's Sigstore trusted_root.json (organisation CAs and its timestamp authority). */
    trustedRoot: RelativePath,
    /** The registry's status-signing public key (SPKI PEM). */
    statusKey: RelativePath,
    /** Fingerprint the status key must have: `sigil policy init` prints it to compare out of band. */
    statusKeyFingerprint: z.string().optional(),
  }),
  /** Per namespace pattern, who may sign manifests; the most specific matching pattern applies. */
  publishers: z.array(z.strictObject({ namespace: NamespacePatternString, ...SignerSetFields })).max(256).default([]),
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
});
export type PolicyFile = z.infer<typeof PolicyFile>;

/** A loaded trust policy: files read, keys parsed, ready for verification. */
export interface TrustPolicy {
  path: string;
  registryUrl: string;
  trustedRoot: TrustedRootJson;
  statusKey: string;
  publishers: Array<{ namespace: string; signers: SignerPolicy }>;
  reviewers: SignerPolicy;
  threshold: number;
  highRiskThreshold: number;
  maxStatusAgeMs: number;
}

/**
 * Reads a policy file and everything it points to. Any problem is `POLICY_INVALID` with the path
 * inside the policy that is wrong.
 * @example const policy = await loadPolicy('sigil.policy.json');
 */
export async function loadPolicy(path: string): Promise<TrustPolicy> {
  const text = await readBoundedText(path, MAX_POLICY_BYTES).catch((e: unknown) => {
    throw invalid(`cannot read the policy ${path}: ${(e as Error).message}`, e);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`the policy ${path} is not valid JSON`, e);
  }
  const parsed = PolicyFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`the policy ${path} is invalid at /${issue.path.join('/')}: ${issue.message}`, parsed.error);
  }
  const file = parsed.data;
  const base = dirname(resolvePath(path));
  const read = async (rel: string, at: string): Promise<string> => {
    const target = isAbsolute(rel) ? rel : resolvePath(base, rel);
    try {
      return await readBoundedText(target, MAX_REFERENCED_FILE_BYTES);
    } catch (e) {
      throw invalid(`the policy's ${at} points to ${target}, which cannot be read: ${(e as Error).message}`, e);
    }
  };
  let trustedRoot: TrustedRootJson;
  try {
    trustedRoot = TrustedRootJson.parse(JSON.parse(await read(file.registry.trustedRoot, '/registry/trustedRoot')));
  } catch (e) {
    if (e instanceof ResolveError) throw e;
    throw invalid(`the registry trusted root named by the policy is not a Sigstore trusted_root.json`, e);
  }
  const statusKey = await read(file.registry.statusKey, '/registry/statusKey');
  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(statusKey);
  } catch (e) {
    throw invalid('the registry status key named by the policy is not a P-256 public key', e);
  }
  if (file.registry.statusKeyFingerprint && file.registry.statusKeyFingerprint !== fingerprint) {
    throw invalid(`the registry status key has fingerprint ${fingerprint}, but the policy pins ${file.registry.statusKeyFingerprint}`);
  }
  const signers = async (set: { publicKeys: string[]; identities: AllowedIdentity[] }, at: string): Promise<SignerPolicy> => {
    const keys = await Promise.all(set.publicKeys.map((p, i) => read(p, `${at}/publicKeys/${i}`)));
    const policy = SignerPolicy.safeParse({ publicKeys: keys, identities: set.identities, trustedRoot });
    if (!policy.success) throw invalid(`the signers at ${at} are invalid: ${policy.error.issues[0]?.message}`, policy.error);
    return policy.data;
  };
  return {
    path,
    registryUrl: file.registry.url.replace(/\/+$/, ''),
    trustedRoot,
    statusKey,
    publishers: await Promise.all(file.publishers.map(async (p, i) => ({ namespace: p.namespace, signers: await signers(p, `/publishers/${i}`) }))),
    reviewers: await signers(file.reviewers, '/reviewers'),
    threshold: file.reviewers.threshold,
    highRiskThreshold: file.reviewers.highRiskThreshold,
    maxStatusAgeMs: file.maxStatusAgeSeconds * 1000,
  };
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
