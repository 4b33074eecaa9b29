export { ResolveError, type Refusal, type ResolveErrorCode } from './errors.js';
export { compareLiveTools, driftSentence, listLiveTools, verifyLiveTools, type LiveTools, type LiveToolsOptions, type ToolListingClient } from './live-tools.js';
export { emptyLockfile, LockEntry, Lockfile, MAX_LOCKFILE_BYTES, readLockfile, stableStringify, writeJsonAtomic, writeLockfile } from './lockfile.js';
export { DEFAULT_FETCH_LIMITS, fetchJson, type FetchLimits, type JsonResponse } from './http.js';
export { loadPolicy, PolicyFile, publishersFor, type TrustPolicy } from './policy.js';
export { HostState, HostStore } from './store.js';
export { verifyStatus, type VerifiedStatus } from './status.js';
export { signerId, verifyVersion, type Expectation, type VerifiedVersion } from './verify-version.js';
export { fetchServer, fetchVerifiedVersion, newestApproved, pinVersions, resolve, type RegistryOptions, type ResolvedServer, type ResolveOptions } from './resolve.js';
