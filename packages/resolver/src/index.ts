export { ResolveError, type Refusal, type ResolveErrorCode } from './errors.js';
export { compareLiveTools, driftSentence, listLiveTools, verifyLiveTools, type LiveTools, type LiveToolsOptions, type ToolListingClient } from './live-tools.js';
