export { ResolveError, type Refusal, type ResolveErrorCode } from './errors.js';
export { compareLiveTools, driftSentence, listLiveTools, verifyLiveTools, type LiveTools, type LiveToolsOptions, type ToolListingClient } from './live-tools.js';
export { emptyLockfile, LockEntry, Lockfile, MAX_LOCKFILE_BYTES, readLockfile, stableStringify, writeLockfile } from './lockfile.js';
export { DEFAULT_FETCH_LIMITS, fetchJson, type FetchLimits, type JsonResponse } from './http.js';
