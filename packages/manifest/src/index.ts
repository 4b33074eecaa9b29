export { LIMITS, type Limits } from './limits.js';
export { Finding, hasErrors, pointer, refusalCode, Severity, type FindingCode, type ManifestRefusalCode } from './findings.js';
export { ManifestError } from './errors.js';
export {
  compareVersions,
  formatReference,
  isServerName,
  isVersion,
  MAX_NAME_LENGTH,
  NAME_RULE,
  NAMESPACE_PATTERN,
  parseReference,
  SERVER_PART_PATTERN,
  serverNameProblem,
  splitServerName,
  VERSION_RULE,
  versionProblem,
  type Reference,
} from './names.js';
export {
  Argument,
  Digest,
  Icon,
  Input,
  JsonValue,
  KeyValueInput,
  LocalTransport,
  Manifest,
  Meta,
  Package,
  ReferenceObject,
  RemoteTransport,
  Repository,
  ServerName,
  Tool,
  ToolAnnotations,
  ToolJsonSchema,
  ToolName,
  Version,
} from './schema.js';
export { checkManifest, checkManifestValue, MAX_FINDINGS, parseManifest, type ManifestCheck } from './parse.js';
export { scanJson, utf8Length } from './json-scan.js';
export { CanonicalJsonError, canonicalJson, digestHex, manifestDigest, sha256, toolDigest, toolsSetDigest } from './digest.js';
export { normalizeTool } from './normalize.js';
export { matchesNamespace, mostSpecificPattern, NAMESPACE_PATTERN_RULE, namespacePatternProblem } from './namespace-pattern.js';
export { diffJson, diffTools, isEmptyDiff, type JsonChange, type ToolChange, type ToolsDiff } from './diff.js';
export {
  ApprovalRecord,
  KeysResponse,
  RegistryKey,
  BundleJson,
  MAX_STATUS_REFS,
  RiskLevel,
  ServerRecord,
  SignerRecord,
  StatusEntry,
  StatusPredicate,
  StatusRequest,
  StatusResponse,
  Timestamp,
  VersionRecord,
  VersionStatus,
  VersionSummary,
} from './wire/index.js';
