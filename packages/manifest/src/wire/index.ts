export { BundleJson, RiskLevel, Timestamp, TIMESTAMP_PATTERN, VersionStatus } from './common.js';
export { ApprovalRecord, SignerRecord, VersionRecord } from './version.js';
export { MAX_STATUS_BATCH, MAX_STATUS_REFS, StatusBatchProof, StatusEntry, StatusPredicate, StatusRequest, StatusResponse } from './status.js';
export { KeysResponse, RegistryKey } from './keys.js';
export { LogConsistencyProof, LogProofEntry, LogProofsRequest, LogProofsResponse, MAX_LOG_PROOF_REFS } from './log.js';
export { ServerRecord, VersionSummary } from './server.js';
export {
  AllowlistEntry,
  AllowlistList,
  AllowlistSignerView,
  AuditCheck,
  AuditEventView,
  AuditPage,
  CaRecord,
  Health,
  LintFindingView,
  McpServerDetail,
  McpServerList,
  McpServerResponse,
  Problem,
  ReviewerList,
  ReviewerRecord,
  ReviewerRemoved,
  ReviewQueue,
  ReviewQueueItem,
  ReviewView,
  ServerList,
  ServerListItem,
  TokenCreated,
  TokenList,
  TokenSummary,
  TokenRevoked,
  TokenRole,
  ToolsDiffView,
  TrustedRootView,
  Whoami,
} from './api.js';
