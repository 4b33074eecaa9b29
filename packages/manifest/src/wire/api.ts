import { z } from 'zod';
import { Finding } from '../findings.js';
import { Digest, JsonValue } from '../schema.js';
import { RiskLevel, Timestamp, VersionStatus } from './common.js';
import { deferSchema } from '../defer-schema.js';

/**
 * Response bodies of the registry's governance and review endpoints. The registry validates its
 * routes against these and documents them in its OpenAPI document; the CLI reads its answers with
 * the same types, so the two cannot drift apart.
 */

/** One finding as the registry stores and shows it (the one findings shape of @sigil/manifest). */
export const LintFindingView = Finding;
export type LintFindingView = Finding;

const JsonChangeView = deferSchema(() => z.object({ path: z.string(), op: z.enum(['add', 'remove', 'replace']), before: z.unknown().optional(), after: z.unknown().optional() }));
const ToolChangeView = deferSchema(() => z.object({
  name: z.string(),
  before: Digest,
  after: Digest,
  fields: z.array(z.string()),
  description: z.object({ before: z.string(), after: z.string() }).optional(),
  changes: z.array(JsonChangeView),
}));

/** The tool-level difference between two versions (see `diffTools`). */
export const ToolsDiffView = deferSchema(() => z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  renamed: z.array(z.object({ from: z.string(), to: z.string() })),
  changed: z.array(ToolChangeView),
}));

/** `GET …/versions/{version}/review`: what a reviewer decides on. */
/** A pinned server identity as `manifest init` recorded it (see server-info.ts). */
export const PinnedServerInfoView = deferSchema(() => z.object({ name: z.string(), version: z.string(), title: z.string().optional() }));

export const ReviewView = deferSchema(() => z.object({
  name: z.string(),
  version: z.string(),
  digest: Digest,
  status: VersionStatus,
  risk: RiskLevel,
  publisher: z.string(),
  signer: z.object({
    kind: z.enum(['key', 'certificate']),
    keyFingerprint: z.string(),
    identity: z.string().optional(),
    ca: z.string().optional().meta({ description: 'Certificates: the SHA256 fingerprint of the registered CA that issued the signing certificate' }),
  }),
  provenance: z.boolean().meta({ description: 'Whether a provenance bundle was attached (and verified at publish)' }),
  findings: z.array(LintFindingView),
  /** The last approved version of the same server, and the tool diff against it (a rug pull shows here). */
  baseline: z.object({ version: z.string(), digest: Digest }).nullable(),
  diff: ToolsDiffView.nullable(),
  instructionsChanged: z.boolean(),
  serverInfoChanged: z
    .object({ before: PinnedServerInfoView.nullable(), after: PinnedServerInfoView.nullable() })
    .nullable()
    .meta({ description: "The server identity `sigil run` holds the live server to (`_meta['dev.sigil/serverInfo']`), before and after, when it differs from the baseline's (null: unchanged, or no baseline)" }),
  deploymentChanged: z
    .object({
      packages: z.object({ before: z.array(z.string()), after: z.array(z.string()) }).nullable(),
      remotes: z.object({ before: z.array(z.string()), after: z.array(z.string()) }).nullable(),
    })
    .nullable()
    .meta({ description: 'What a host installs or connects to (`packages`, `remotes`), each list whole before and after, its entries as canonical JSON, when it differs from the baseline in anything but a package `version` or `fileSha256` (null: unchanged so, or no baseline). Such a change runs other code under the same tools, and makes the version high risk' }),
  approvals: z.int().min(0).meta({ description: 'Approvals recorded so far' }),
  approvalsRequired: z.int().min(1).meta({ description: 'Distinct approvals this version needs before it is approved (high risk needs more)' }),
  riskReasons: z.array(z.string()).meta({ description: 'Why the version is high risk (empty when low): tools not marked read-only, lint warnings, packages or remotes other than the baseline\'s' }),
}));
export type ReviewView = z.infer<typeof ReviewView>;

/** One entry of `GET /v1/reviews`. */
export const ReviewQueueItem = deferSchema(() => z.object({
  name: z.string(),
  version: z.string(),
  digest: Digest,
  status: VersionStatus,
  risk: RiskLevel,
  publisher: z.string(),
  publishedAt: Timestamp,
  findings: z.int().min(0).meta({ description: 'Number of lint findings' }),
}));
export type ReviewQueueItem = z.infer<typeof ReviewQueueItem>;
export const ReviewQueue = deferSchema(() => z.object({ reviews: z.array(ReviewQueueItem), next: z.string().nullable().meta({ description: 'Cursor of the next page, or null on the last' }) }));
export type ReviewQueue = z.infer<typeof ReviewQueue>;

/** One entry of `GET /v1/servers`: a server and its newest version. */
export const ServerListItem = deferSchema(() => z.object({
  name: z.string(),
  latest: z.object({ version: z.string(), status: VersionStatus, digest: Digest }).nullable(),
}));
export const ServerList = deferSchema(() => z.object({
  servers: z.array(ServerListItem),
  next: z.string().nullable().meta({ description: 'Cursor for the next page, or null on the last page' }),
}));
export type ServerList = z.infer<typeof ServerList>;

const IdentityCa = deferSchema(() => z.string().optional().meta({ description: 'Identities only: the SHA256 fingerprint of the CA the signer’s certificate must chain to; absent on an identity stored unbound, which counts only while the registry trusts exactly one CA' }));
export const AllowlistSignerView = deferSchema(() => z.object({
  kind: z.enum(['key', 'identity']),
  fingerprint: z.string().meta({ description: 'A key’s SHA256 fingerprint; an identity, then a space and its CA when bound' }),
  publicKey: z.string().optional(),
  identity: z.string().optional(),
  ca: IdentityCa,
}));
export const AllowlistEntry = deferSchema(() => z.object({
  pattern: z.string(),
  signers: z.array(AllowlistSignerView),
  builders: z.array(AllowlistSignerView.extend({ builderId: z.string() })).meta({ description: 'Who may sign provenance for which SLSA builder id (none: provenance is refused)' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}));
export type AllowlistEntry = z.infer<typeof AllowlistEntry>;
export const AllowlistList = deferSchema(() => z.object({ entries: z.array(AllowlistEntry) }));
export type AllowlistList = z.infer<typeof AllowlistList>;

export const ReviewerRecord = deferSchema(() => z.object({ principal: z.string(), kind: z.enum(['key', 'identity']), fingerprint: z.string(), ca: IdentityCa }));
export type ReviewerRecord = z.infer<typeof ReviewerRecord>;
export const ReviewerList = deferSchema(() => z.object({ reviewers: z.array(ReviewerRecord) }));
export type ReviewerList = z.infer<typeof ReviewerList>;
export const ReviewerRemoved = deferSchema(() => z.object({ principal: z.string(), removed: z.array(ReviewerRecord) }));
export type ReviewerRemoved = z.infer<typeof ReviewerRemoved>;

export const CaRecord = deferSchema(() => z.object({ fingerprint: z.string() }));
export type CaRecord = z.infer<typeof CaRecord>;

export const TokenRole = deferSchema(() => z.enum(['admin', 'security', 'publisher', 'reader']));
export const TokenCreated = deferSchema(() => z.object({
  id: z.string(),
  token: z.string().meta({ description: 'The secret, shown once' }),
  principal: z.string(),
  role: TokenRole,
  namespaces: z.array(z.string()),
  expiresAt: Timestamp,
}));
export type TokenCreated = z.infer<typeof TokenCreated>;
export const TokenSummary = deferSchema(() => z.object({
  id: z.string(),
  principal: z.string(),
  role: TokenRole,
  namespaces: z.array(z.string()),
  createdAt: Timestamp,
  createdBy: z.string().nullable(),
  expiresAt: Timestamp,
  revokedAt: Timestamp.nullable(),
  active: z.boolean(),
}));
export const TokenList = deferSchema(() => z.object({ tokens: z.array(TokenSummary) }));
export type TokenList = z.infer<typeof TokenList>;
export const TokenRevoked = deferSchema(() => z.object({ id: z.string(), revokedAt: Timestamp }));
export type TokenRevoked = z.infer<typeof TokenRevoked>;

export const Whoami = deferSchema(() => z.object({ principal: z.string(), role: TokenRole, namespaces: z.array(z.string()) }));
export type Whoami = z.infer<typeof Whoami>;

export const AuditEventView = deferSchema(() => z.object({
  seq: z.int().min(1),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  details: z.record(z.string(), JsonValue),
  prevHash: Digest,
  hash: Digest,
}));
export const AuditPage = deferSchema(() => z.object({ events: z.array(AuditEventView), next: z.int().nullable() }));
export type AuditPage = z.infer<typeof AuditPage>;
export const AuditCheck = deferSchema(() => z.union([
  z.object({ ok: z.literal(true), events: z.int().min(0), head: z.string() }),
  z.object({ ok: z.literal(false), brokenAt: z.int(), reason: z.string() }),
]));
export type AuditCheck = z.infer<typeof AuditCheck>;

export const Health = deferSchema(() => z.object({ ok: z.literal(true) }));

/** A Sigstore `trusted_root.json` (protobuf-specs `TrustedRoot`, JSON form); read it with @sigil/signing. */
export const TrustedRootView = deferSchema(() => z.looseObject({ mediaType: z.string() }));

/** RFC 9457 problem details with Sigil's stable `code` and the request id. */
export const Problem = deferSchema(() => z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  code: z.string().meta({ description: 'Stable machine-readable error code' }),
  requestId: z.string(),
  instance: z.string().optional(),
  findings: z.array(Finding).optional().meta({ description: 'What was refused, where, by which rule' }),
  error: z.string().optional().meta({ description: 'On /v0.1 paths only: `detail` again, under the key the official MCP registry API answers errors with' }),
}));
export type Problem = z.infer<typeof Problem>;

/**
 * The official MCP registry's read API (v0.1, modelcontextprotocol/registry docs/reference/api):
 * `server` is the server.json part of a manifest (its tools and instructions stay Sigil's), and
 * `_meta` carries registry facts under reverse-DNS keys.
 */
export const McpServerDetail = deferSchema(() => z.looseObject({
  $schema: z.string().optional(),
  name: z.string().min(3).max(200),
  description: z.string().min(1).max(100),
  version: z.string().max(255),
  title: z.string().optional(),
  websiteUrl: z.string().optional(),
  repository: z.looseObject({ url: z.string(), source: z.string() }).optional(),
  icons: z.array(z.record(z.string(), JsonValue)).optional(),
  packages: z.array(z.record(z.string(), JsonValue)).optional(),
  remotes: z.array(z.record(z.string(), JsonValue)).optional(),
  _meta: z.record(z.string(), JsonValue).optional(),
}));
export const McpServerResponse = deferSchema(() => z.object({ server: McpServerDetail, _meta: z.record(z.string(), z.record(z.string(), JsonValue)).optional() }));
export type McpServerResponse = z.infer<typeof McpServerResponse>;
export const McpServerList = deferSchema(() => z.object({
  servers: z.array(McpServerResponse),
  metadata: z.object({ nextCursor: z.string().optional(), count: z.int().min(0) }),
}));
export type McpServerList = z.infer<typeof McpServerList>;
