
import { sql } from 'drizzle-orm';
import { customType, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { storedBytes } from './errors.js';

/** People and machines that hold tokens. */
export const principals = sqliteTable('principals', {
  name: text('name').primaryKey(),
  createdAt: text('created_at').notNull(),
});

/** Opaque bearer tokens: only the SHA-256 of the secret is stored. */
export const tokens = sqliteTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    principal: text('principal')
      .notNull()
      .references(() => principals.name),
    secretHash: text('secret_hash').notNull(),
    role: text('role', { enum: ['admin', 'security', 'publisher', 'reader'] }).notNull(),
    /** JSON array of namespace patterns (publishers). */
    namespaces: text('namespaces').notNull().default('[]'),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by'),
    expiresAt: text('expires_at').notNull(),
    revokedAt: text('revoked_at'),
  },
  (t) => [uniqueIndex('tokens_secret_hash_idx').on(t.secretHash), index('tokens_principal_idx').on(t.principal)],
);

/** Namespace patterns that may be published to, and who may sign in them. */
export const allowlist = sqliteTable('allowlist', {
  pattern: text('pattern').primaryKey(),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
});

export const allowlistSigners = sqliteTable(
  'allowlist_signers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    pattern: text('pattern')
      .notNull()
      .references(() => allowlist.pattern, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['key', 'identity'] }).notNull(),
    /** SPKI PEM for keys, the exact SAN for identities. */
    value: text('value').notNull(),
    /**
     * `SHA256:<base64>` of the key; for an identity, the identity, then a space and its CA when
     * bound to one (`signerFingerprint`): the same identity under two CAs is two signers.
     */
    fingerprint: text('fingerprint').notNull(),
    /**
     * Identities only: the `SHA256:<base64>` fingerprint of the CA certificate (a registered CA or
     * a certificate of its chain) the leaf must chain to. Null: unbound, which counts only while
     * the registry trusts exactly one CA (docs/api.md, "Certificate identities and their CA").
     */
    ca: text('ca'),
  },
  (t) => [uniqueIndex('allowlist_signers_pattern_fingerprint_idx').on(t.pattern, t.fingerprint)],
);

/**
 * Builders whose SLSA provenance counts in a namespace pattern: a builder id bound to the key or
 * certificate identity that signs for it (e.g. a release workflow's identity), never the
 * publisher's own signer, so provenance is a statement by someone other than the publisher.
 */
export const allowlistBuilders = sqliteTable(
  'allowlist_builders',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    pattern: text('pattern')
      .notNull()
      .references(() => allowlist.pattern, { onDelete: 'cascade' }),
    /** SLSA `runDetails.builder.id` this signer may claim. */
    builderId: text('builder_id').notNull(),
    kind: text('kind', { enum: ['key', 'identity'] }).notNull(),
    value: text('value').notNull(),
    fingerprint: text('fingerprint').notNull(),
    /** The identity's CA, as in `allowlist_signers.ca`. */
    ca: text('ca'),
  },
  (t) => [uniqueIndex('allowlist_builders_pattern_builder_fingerprint_idx').on(t.pattern, t.builderId, t.fingerprint)],
);

/** Principals whose signed approvals count, bound to a key or certificate identity. */
export const reviewers = sqliteTable(
  'reviewers',
  {
    principal: text('principal').notNull(),
    kind: text('kind', { enum: ['key', 'identity'] }).notNull(),
    value: text('value').notNull(),
    fingerprint: text('fingerprint').notNull(),
    createdAt: text('created_at').notNull(),
    /** The identity's CA, as in `allowlist_signers.ca`. */
    ca: text('ca'),
  },
  (t) => [primaryKey({ columns: [t.principal, t.fingerprint] }), index('reviewers_fingerprint_idx').on(t.fingerprint)],
);

/** Organisation CAs whose leaves may sign (part of the registry trusted root). */
export const certificateAuthorities = sqliteTable('certificate_authorities', {
  fingerprint: text('fingerprint').primaryKey(),
  /** PEM chain, leaf-issuing CA first. */
  chainPem: text('chain_pem').notNull(),
  createdAt: text('created_at').notNull(),
});

export const servers = sqliteTable(
  'servers',
  {
    name: text('name').primaryKey(),
    namespace: text('namespace').notNull(),
    /** Principal of the first publish: the owner for look-alike checks. */
    owner: text('owner').notNull(),
    createdAt: text('created_at').notNull(),
  },
  // Names are unique whatever their case (server.json allows mixed case): the database holds
  // that too, so two concurrent publishes of `Foo` and `foo` cannot both create a server.
  // Names are ASCII, where SQLite's lower() is exact.
  (t) => [index('servers_namespace_idx').on(t.namespace), uniqueIndex('servers_name_lower_idx').on(sql`lower(${t.name})`)],
);

/** Published versions: immutable (triggers refuse changes of content), never deleted without a tombstone. */
export const versions = sqliteTable(
  'versions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    server: text('server')
      .notNull()
      .references(() => servers.name),
    version: text('version').notNull(),
    digest: text('digest').notNull(),
    toolsDigest: text('tools_digest').notNull(),
    /** The manifest as canonical JSON (RFC 8785). */
    manifest: text('manifest').notNull(),
    bundle: text('bundle').notNull(),
    provenance: text('provenance'),
    signerKind: text('signer_kind', { enum: ['key', 'certificate'] }).notNull(),
    signerFingerprint: text('signer_fingerprint').notNull(),
    signerIdentity: text('signer_identity'),
    publisher: text('publisher').notNull(),
    status: text('status', { enum: ['pending', 'approved', 'rejected', 'revoked'] }).notNull(),
    risk: text('risk', { enum: ['low', 'high'] }).notNull(),
    /** JSON array of lint findings. */
    findings: text('findings').notNull().default('[]'),
    publishedAt: text('published_at').notNull(),
    rejectionReason: text('rejection_reason'),
    rejectedBy: text('rejected_by'),
    rejectedAt: text('rejected_at'),
    revocationReason: text('revocation_reason'),
    revokedBy: text('revoked_by'),
    revokedAt: text('revoked_at'),
    /**
     * The v0.1 API's `server` object of this version as the exact JSON text served: the manifest
     * without its tools and instructions, as JSON.stringify writes JSON.parse of the stored text
     * (serverJsonOf). Made once when the version is inserted, immutable like the manifest it is
     * cut from (migration 0009's trigger; pg/0006); null only for a row stored before migration
     * 0009 and not yet filled (fillServerJson, when the store opens), and then made per read.
     */
    serverJson: text('server_json'),
  },
  // versions_server_status_idx: a server's approved versions (the v0.1 API's listings and reads)
  // from the index alone, never from the rows, whose manifests and bundles fill a page each.
  // versions_status_server_idx: a namespace's pending versions (countPending, every publish) as
  // one range of the index, `lower(server)` from `ns/` up to `ns0`, whatever the number of
  // versions; in byte order on PostgreSQL too (schema-pg.ts gives it COLLATE "C").
  (t) => [
    uniqueIndex('versions_server_version_idx').on(t.server, t.version),
    index('versions_status_idx').on(t.status),
    index('versions_server_status_idx').on(t.server, t.status, t.version),
    index('versions_status_server_idx').on(t.status, sql`lower(${t.server})`),
  ],
);

export const approvals = sqliteTable(
  'approvals',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    versionId: integer('version_id')
      .notNull()
      .references(() => versions.id),
    reviewer: text('reviewer').notNull(),
    digest: text('digest').notNull(),
    bundle: text('bundle').notNull(),
    signerFingerprint: text('signer_fingerprint').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('approvals_digest_idx').on(t.digest), uniqueIndex('approvals_version_reviewer_idx').on(t.versionId, t.reviewer)],
);

/**
 * The tool names of every version, indexed by name, so the tool-shadowing check at publish finds
 * every approved server exposing a tool of the same name, however many there are.
 */
export const versionTools = sqliteTable(
  'version_tools',
  {
    versionId: integer('version_id')
      .notNull()
      .references(() => versions.id, { onDelete: 'cascade' }),
    server: text('server').notNull(),
    tool: text('tool').notNull(),
  },
  (t) => [primaryKey({ columns: [t.versionId, t.tool] }), index('version_tools_tool_idx').on(t.tool)],
);

/** What a deleted version leaves behind: `name@version` is never reusable. */
export const tombstones = sqliteTable(
  'tombstones',
  {
    server: text('server').notNull(),
    version: text('version').notNull(),
    digest: text('digest').notNull(),
    deletedAt: text('deleted_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.server, t.version] })],
);

/** Append-only, hash-chained governance events. */
export const auditEvents = sqliteTable('audit_events', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  at: text('at').notNull(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  subject: text('subject').notNull(),
  /** JSON object. */
  details: text('details').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});


/**
 * A blob column (bytea on PostgreSQL) whose every read through drizzle is checked to be bytes, of
 * `length` bytes when given: SQLite keeps text written into a blob column as text, and drizzle's
 * own blob column would hand its UTF-8 bytes over as the value (a wrong hash, silently). The
 * plain SQL reads of log.ts check with the same `storedBytes`.
 */
const bytes = (column: string, length?: number) =>
  customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'blob', fromDriver: (value) => storedBytes(value, column, length) })(column.slice(column.indexOf('.') + 1));

/**
 * The transparency log's leaves (issue 15): entry `idx` of the RFC 6962 tree, its exact body
 * (the bundle's `canonicalizedBody`) and leaf hash. Written in the same transaction as the
 * record it logs; never updated nor deleted (triggers in the migration).
 */
export const logEntries = sqliteTable(
  'log_entries',
  {
    idx: integer('idx').primaryKey(),
    /** What the entry records: `manifest`, `approval`, `rejection`, `revocation`, `key`. */
    kind: text('kind').notNull(),
    /** What it is about, e.g. `io.github.acme/weather@1.2.0`, for lookups. */
    subject: text('subject').notNull(),
    /** Which form the body is: `dsse`, `hashedrekord` (Rekor v2 0.0.2) or `sigil-event`. */
    form: text('form').notNull(),
    body: bytes('log_entries.body').notNull(),
    leafHash: bytes('log_entries.leaf_hash', 32).notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('log_entries_subject_idx').on(t.subject, t.kind), index('log_entries_leaf_hash_idx').on(t.leafHash)],
);

/**
 * Complete subtree hashes of the log (`level`, `idx`: leaves [idx * 2^level, (idx + 1) * 2^level)).
 * They never change once written, so a restart reads them instead of rebuilding the tree.
 */
export const logNodes = sqliteTable(
  'log_nodes',
  {
    level: integer('level').notNull(),
    idx: integer('idx').notNull(),
    hash: bytes('log_nodes.hash', 32).notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.idx] })],
);

/** Every checkpoint the registry signed: the exact C2SP signed-note envelope, by tree size. */
export const logCheckpoints = sqliteTable('log_checkpoints', {
  size: integer('size').primaryKey(),
  root: bytes('log_checkpoints.root', 32).notNull(),
  envelope: text('envelope').notNull(),
  signedAt: text('signed_at').notNull(),
});

/**
 * The keys the registry signs with, one row per use (`status`, `log`): every instance on one
 * database must sign with these, so the first instance records its keys and any other refuses to
 * start with a different one. A row changes only by a deliberate rotation, which names the key it
 * replaces (`SIGIL_STATUS_KEY_REPLACES`, `SIGIL_LOG_KEY_REPLACES`; docs/deploy.md, "Keys").
 */
export const registryKeys = sqliteTable('registry_keys', {
  /** `status` or `log`. */
  use: text('use').primaryKey(),
  /** `SHA256:<base64>` of the public key's SPKI DER (publicKeyFingerprint). */
  fingerprint: text('fingerprint').notNull(),
  publicKey: text('public_key').notNull(),
  recordedAt: text('recorded_at').notNull(),
  /** The fingerprint of the key this one replaced; null for the first. */
  replaces: text('replaces'),
});
