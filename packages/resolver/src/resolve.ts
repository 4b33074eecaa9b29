import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson, compareVersions, Digest, ServerRecord, splitServerName, type VersionRecord } from '@sigil/manifest';
import { z } from 'zod';
import { VerificationCache } from '@sigil/signing/verify';
import { ResolveError, type Refusal } from './errors.js';
import { DEFAULT_FETCH_LIMITS, fetchJson, type FetchLimits } from './http.js';
import { readLockfile, writeLockfile, type LockEntry, type Lockfile } from './lockfile.js';
import type { TrustPolicy } from './policy.js';
import { verifyStatus, type VerifiedStatus } from './status.js';
import { HostStore } from './store.js';
import { judgeVersion, proveRecord, verifyVersion, type Expectation, type RecordProof, type VerifiedVersion } from './verify-version.js';

/** A server whose every check passed: what a host may start. */
export type ResolvedServer = Omit<VerifiedVersion, 'record' | 'status'>;

export interface RegistryOptions {
  policy: TrustPolicy;
  /** Bearer token for the registry (a `reader` token), if it requires one. */
  token?: string;
  limits?: Partial<FetchLimits>;
  /** The clock (tests set it). */
  now?: () => Date;
}

export interface ResolveOptions extends RegistryOptions {
  lockfile: string;
  /** Verify from the local cache only, without the network. */
  offline?: boolean;
  /** Only these names from the lock (default: all). */
  names?: readonly string[];
  store?: HostStore;
}

/** A kept proof, validated when read back (a malformed one is simply not used). */
const KeptProof = z.strictObject({
  digest: Digest,
  toolsDigest: Digest,
  signer: z.string().max(1024),
  readOnly: z.boolean(),
  recordRisk: z.enum(['low', 'high']),
  approvals: z.array(z.strictObject({ who: z.string().max(1024), digest: Digest })).max(64),
  ignored: z.array(z.string().max(2048)).max(64),
});
const MAX_PROOFS = 10_000;

/** Digest of everything in the policy that a record proof depends on. */
function policyDigest(policy: TrustPolicy): string {
  return createHash('sha256')
    .update(canonicalJson({ publishers: policy.publishers, reviewers: policy.reviewers, trustedRoot: policy.trustedRoot }))
    .digest('hex');
}

/** Most version records fetched at once. */
const CONCURRENCY = 8;

/**
 * Resolves every locked server at host start-up: fetches each version record and one fresh
 * signed status for all, verifies everything against the trust policy and the lock, and
 * returns the verified manifests, or throws one `ResolveError` listing every refused server.
 * Never returns a partly verified result.
 * @example
 * const policy = await loadPolicy('sigil.policy.json');
 * const servers = await resolve({ policy, lockfile: 'sigil.lock.json' });
 * // offline, from the cache: await resolve({ policy, lockfile: 'sigil.lock.json', offline: true });
 */
export async function resolve(options: ResolveOptions): Promise<ResolvedServer[]> {
  const lock = await readLockfile(options.lockfile);
  const store = options.store ?? HostStore.besideLockfile(options.lockfile);
  const names = options.names ?? Object.keys(lock.servers).sort();
  for (const name of names) if (!lock.servers[name]) throw ResolveError.of(name, 'NOT_LOCKED', `${name} is not in the lockfile ${options.lockfile}`);
  if (names.length === 0) return [];
  const cache = new VerificationCache({ maxEntries: 4096 });
  await store.loadVerified(cache);
  const now = (options.now ?? (() => new Date()))();
  const state = await store.readState();
  const refs = names.map((n) => `${n}@${lock.servers[n]!.version}`);

  let statusBundle: unknown;
  let records: unknown[];
  let status: VerifiedStatus;
  if (options.offline) {
    statusBundle = await store.readStatus();
    if (statusBundle === undefined) throw ResolveError.of('', 'REGISTRY_UNREACHABLE', 'offline, and the local cache holds no verified status: run `sigil resolve` once with the registry reachable');
    status = verifyStatus(statusBundle, options.policy, { now, lastIssuedAt: state.lastStatusIssuedAt, cache });
    records = await Promise.all(names.map((n) => store.readRecordText(lock.servers[n]!.digest)));
    const missing = names.filter((_, i) => records[i] === undefined);
    if (missing.length) {
      throw new ResolveError(missing.map((name) => ({ name, code: 'REGISTRY_UNREACHABLE', message: `offline, and the local cache holds no copy of ${name}@${lock.servers[name]!.version}` })));
    }
  } else {
    const nonce = randomBytes(18).toString('base64url');
    const fetched = await Promise.all([fetchStatus(options, refs, nonce), fetchRecords(options, names.map((n) => ({ name: n, version: lock.servers[n]!.version })))]);
    statusBundle = fetched[0];
    records = fetched[1];
    status = verifyStatus(statusBundle, options.policy, { now, nonce, lastIssuedAt: state.lastStatusIssuedAt, cache });
  }

  // Record proofs are kept by the exact record bytes and the policy: an unchanged record is
  // verified once, and only the cheap, time-dependent judgement runs on every start.
  const proofs = await store.readProofs();
  const policyKey = policyDigest(options.policy);
  let newProofs = 0;
  const refusals: Refusal[] = [];
  const resolved: VerifiedVersion[] = [];
  names.forEach((name, i) => {
    const entry = lock.servers[name]!;
    const fetched = records[i];
    if (fetched instanceof ResolveError) return void refusals.push(...fetched.refusals);
    try {
      const text = typeof fetched === 'string' ? fetched : undefined;
      const key = text === undefined ? undefined : `${createHash('sha256').update(text).digest('hex')}:${policyKey}`;
      const kept = key === undefined ? undefined : KeptProof.safeParse(proofs[key]);
      let proof: RecordProof;
      let record: VersionRecord;
      if (kept?.success) {
        proof = kept.data as RecordProof;
        record = JSON.parse(text!) as VersionRecord;
      } else {
        ({ proof, record } = proveRecord(name, entry.version, text === undefined ? fetched : JSON.parse(text), options.policy, entry.digest, cache));
        if (key !== undefined) {
          proofs[key] = proof;
          newProofs++;
        }
      }
      resolved.push(judgeVersion(name, entry.version, proof, record, options.policy, status.entries.get(refs[i]!), { digest: entry.digest, signer: entry.signer }));
    } catch (e) {
      if (e instanceof ResolveError) refusals.push(...e.refusals.map((r) => ({ ...r, name: r.name || name })));
      else refusals.push({ name, code: 'SIGNATURE_INVALID', message: `verification failed: ${(e as Error).message}` });
    }
  });
  for (const v of resolved) {
    if (v.toolsDigest !== lock.servers[v.name]!.toolsDigest) refusals.push({ name: v.name, code: 'DIGEST_MISMATCH', message: `the tools-set digest ${v.toolsDigest} differs from the lock's ${lock.servers[v.name]!.toolsDigest}` });
  }
  if (refusals.length) throw new ResolveError(refusals);

  if (!options.offline) {
    // Offline, everything came from the cache already: nothing new to keep.
    await Promise.all(resolved.map((v) => store.writeRecord(v.record)));
    await store.writeStatus(statusBundle);
    await store.writeState({ ...state, lastStatusIssuedAt: status.predicate.issuedAt });
  }
  if (cache.misses > 0) await store.saveVerified(cache);
  if (newProofs > 0) {
    const entries = Object.entries(proofs);
    await store.writeProofs(Object.fromEntries(entries.slice(-MAX_PROOFS)));
  }
  return resolved.map(publicView);
}

/**
 * Fetches and fully verifies one version (as `sigil lock <ref>` does before pinning it): the
 * record, a fresh signed status, approvals, signer allowed by the policy. `expect` pins what
 * an existing lock entry says; pass none to pin for the first time.
 */
export async function fetchVerifiedVersion(options: RegistryOptions & { store?: HostStore; lastIssuedAt?: string }, name: string, version: string, expect: Expectation = {}): Promise<ResolvedServer & { record: VerifiedVersion['record'] }> {
  const ref = `${name}@${version}`;
  const nonce = randomBytes(18).toString('base64url');
  const [bundle, [record]] = await Promise.all([fetchStatus(options, [ref], nonce), fetchRecords(options, [{ name, version }])]);
  const status = verifyStatus(bundle, options.policy, { now: (options.now ?? (() => new Date()))(), nonce, lastIssuedAt: options.lastIssuedAt });
  if (record instanceof ResolveError) throw record;
  const verified = verifyVersion(name, version, typeof record === 'string' ? JSON.parse(record) : record, options.policy, status.entries.get(ref), expect);
  await options.store?.writeRecord(verified.record);
  return { ...publicView(verified), record: verified.record };
}

/** The versions of a server as the registry lists them (unverified: each is verified before use). */
export async function fetchServer(options: RegistryOptions, name: string): Promise<ServerRecord> {
  const { namespace, server } = splitServerName(name);
  const response = await fetchJson(`${options.policy.registryUrl}/v1/servers/${encodeURIComponent(namespace)}/${encodeURIComponent(server)}`, { token: options.token, name }, limitsOf(options));
  // A name the registry does not know is a typo or a missing publish, not a pending review.
  if (response.status === 404) throw ResolveError.of(name, 'NOT_FOUND', `the registry has no server named ${name}; check the spelling (sigil search <part of the name>)`);
  if (response.status !== 200) throw httpRefusal(name, response.status, response.json);
  const parsed = ServerRecord.safeParse(response.json);
  if (!parsed.success || parsed.data.name !== name) throw ResolveError.of(name, parsed.success ? 'NAME_MISMATCH' : 'RESPONSE_INVALID', `the registry's listing of ${name} is not usable`);
  return parsed.data;
}

/** The newest approved version in a listing, by SemVer precedence. */
export function newestApproved(server: ServerRecord): string | undefined {
  return server.versions
    .filter((v) => v.status === 'approved')
    .map((v) => v.version)
    .sort(compareVersions)
    .at(-1);
}

/** Adds or replaces lock entries for verified versions and writes the lockfile atomically. */
export async function pinVersions(lockfilePath: string, versions: readonly ResolvedServer[]): Promise<Lockfile> {
  const lock = await readLockfile(lockfilePath, { allowMissing: true });
  for (const v of versions) {
    const entry: LockEntry = { version: v.version, digest: v.digest, toolsDigest: v.toolsDigest, signer: v.signer, approvals: [...v.approvals].sort() };
    lock.servers[v.name] = entry;
  }
  await writeLockfile(lockfilePath, lock);
  return lock;
}

function publicView(v: VerifiedVersion): ResolvedServer {
  return { name: v.name, version: v.version, digest: v.digest, toolsDigest: v.toolsDigest, manifest: v.manifest, signer: v.signer, approvals: v.approvals, risk: v.risk };
}

function limitsOf(options: RegistryOptions): FetchLimits {
  return { ...DEFAULT_FETCH_LIMITS, ...options.limits };
}

async function fetchStatus(options: RegistryOptions, refs: string[], nonce: string): Promise<unknown> {
  const response = await fetchJson(`${options.policy.registryUrl}/v1/status`, { method: 'POST', body: { refs, nonce }, token: options.token }, limitsOf(options));
  if (response.status !== 200) throw httpRefusal('', response.status, response.json);
  return (response.json as { bundle?: unknown } | undefined)?.bundle;
}

/** Fetches version records with bounded concurrency; a failure is returned in place, not thrown. */
async function fetchRecords(options: RegistryOptions, wanted: Array<{ name: string; version: string }>): Promise<unknown[]> {
  const out: unknown[] = new Array(wanted.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const i = next++;
      const { name, version } = wanted[i]!;
      const { namespace, server } = splitServerName(name);
      try {
        const response = await fetchJson(
          `${options.policy.registryUrl}/v1/servers/${encodeURIComponent(namespace)}/${encodeURIComponent(server)}/versions/${encodeURIComponent(version)}`,
          { token: options.token, name },
          limitsOf(options),
        );
        if (response.status === 404) out[i] = ResolveError.of(name, 'NOT_FOUND', `the registry has no ${name}@${version}; check the name and version (sigil search <part of the name>)`);
        else if (response.status !== 200) out[i] = httpRefusal(name, response.status, response.json);
        // fetchJson parsed it only if it is JSON within the depth bound; keep the exact text.
        else if (response.json === undefined) out[i] = ResolveError.of(name, 'RESPONSE_INVALID', `the registry's answer for ${name}@${version} is not JSON within the nesting bound`);
        else out[i] = new TextDecoder('utf-8', { fatal: true }).decode(response.bytes);
      } catch (e) {
        out[i] = e instanceof ResolveError ? e : ResolveError.of(name, 'REGISTRY_UNREACHABLE', (e as Error).message, undefined, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, wanted.length) }, worker));
  return out;
}

function httpRefusal(name: string, status: number, body: unknown): ResolveError {
  const code = (body as { code?: unknown } | undefined)?.code;
  return ResolveError.of(name, 'REGISTRY_UNREACHABLE', `the registry answered HTTP ${status}${typeof code === 'string' ? ` (${code.slice(0, 64)})` : ''}`);
}
