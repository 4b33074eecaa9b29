import { compareVersions, ServerRecord, splitServerName } from '@sigil/manifest';
import { ResolveError } from './errors.js';
import { DEFAULT_FETCH_LIMITS, fetchJson, httpRefusal, type FetchLimits } from './http.js';
import type { TrustPolicy } from './policy.js';
import type { VerifiedVersion } from './verify-version.js';

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

/** Most version records fetched at once. */
const CONCURRENCY = 8;

/** The versions of a server as the registry lists them (unverified: each is verified before use). */
export async function fetchServer(options: RegistryOptions, name: string): Promise<ServerRecord> {
  const { namespace, server } = splitServerName(name);
  const url = `${options.policy.registryUrl}/v1/servers/${encodeURIComponent(namespace)}/${encodeURIComponent(server)}`;
  const response = await fetchJson(url, { token: options.token, name }, limitsOf(options));
  // A name the registry does not know is a typo or a missing publish, not a pending review.
  if (response.status === 404) throw ResolveError.of(name, 'NOT_FOUND', `the registry has no server named ${name}; check the spelling (sigil search <part of the name>)`);
  if (response.status !== 200) throw httpRefusal(name, url, response);
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

export function publicView(v: VerifiedVersion): ResolvedServer {
  return { name: v.name, version: v.version, digest: v.digest, toolsDigest: v.toolsDigest, manifest: v.manifest, signer: v.signer, approvals: v.approvals, risk: v.risk };
}

function limitsOf(options: RegistryOptions): FetchLimits {
  return { ...DEFAULT_FETCH_LIMITS, ...options.limits };
}

/**
 * One signed status for these references, answering this nonce, unverified: asked batched (one
 * registry signature over many answers, each with its inclusion proof), so the batched answer
 * `{bundle, statement, proof}`; a registry that signs each answer on its own sends `{bundle}`,
 * and its bundle is returned. verifyStatusSignature takes both.
 */
export async function fetchStatus(options: RegistryOptions, refs: string[], nonce: string): Promise<unknown> {
  const url = `${options.policy.registryUrl}/v1/status`;
  const response = await fetchJson(url, { method: 'POST', body: { refs, nonce, batch: true }, token: options.token }, limitsOf(options));
  if (response.status !== 200) throw httpRefusal('', url, response);
  if (response.problem) throw ResolveError.of('', 'RESPONSE_INVALID', `the registry's status answer ${response.problem}`);
  const answer = response.json as { bundle?: unknown; statement?: unknown; proof?: unknown } | undefined;
  if (answer !== null && typeof answer === 'object' && 'proof' in answer) return { bundle: answer.bundle, statement: answer.statement, proof: answer.proof };
  return answer?.bundle;
}

/**
 * Fetches version records with bounded concurrency, each as the exact text received; a failure
 * is returned in place, not thrown.
 */
export async function fetchRecords(options: RegistryOptions, wanted: ReadonlyArray<{ name: string; version: string }>): Promise<Array<string | ResolveError>> {
  const out: Array<string | ResolveError> = new Array(wanted.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < wanted.length) {
      const i = next++;
      const { name, version } = wanted[i]!;
      const { namespace, server } = splitServerName(name);
      const url = `${options.policy.registryUrl}/v1/servers/${encodeURIComponent(namespace)}/${encodeURIComponent(server)}/versions/${encodeURIComponent(version)}`;
      try {
        const response = await fetchJson(url, { token: options.token, name }, limitsOf(options));
        if (response.status === 404) out[i] = ResolveError.of(name, 'NOT_FOUND', `the registry has no ${name}@${version}; check the name and version (sigil search <part of the name>)`);
        else if (response.status !== 200) out[i] = httpRefusal(name, url, response);
        // fetchJson parsed it only if it is JSON that reads one way, within the depth bound; keep the exact text.
        else if (response.json === undefined) out[i] = ResolveError.of(name, 'RESPONSE_INVALID', `the registry's answer for ${name}@${version} ${response.problem ?? 'is empty'}`);
        else out[i] = new TextDecoder('utf-8', { fatal: true }).decode(response.bytes);
      } catch (e) {
        out[i] = e instanceof ResolveError ? e : ResolveError.of(name, 'REGISTRY_UNREACHABLE', (e as Error).message, undefined, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, wanted.length) }, worker));
  return out;
}
