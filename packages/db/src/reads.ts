import type Database from 'better-sqlite3';
import { and, asc, desc, eq, gt, type SQL, sql } from 'drizzle-orm';
import { type Drizzle, type Executor, numberedPlaceholders, type PgQueryable, query, textRows } from './database.js';
import { remembered } from './read-memo.js';
import { approvals, auditEvents, servers, tokens, versions } from './schema.js';
import { serverJsonOf } from './server-json.js';

type TokenRow = typeof tokens.$inferSelect;
type VersionRow = typeof versions.$inferSelect;

/**
 * The registry's hottest reads (a version, a server's versions, a page of servers, the approvals
 * of a version). On SQLite, better-sqlite3 statements prepared once per connection: each answers
 * from the database on every call (it stays the one source of truth), selects only the columns
 * the answer needs, and skips the query builder's per-call work. Elsewhere the same columns
 * through the query builder. Rows come back named like the drizzle rows, so callers need no mapping.
 */
const cache = new WeakMap<Database.Database, ReturnType<typeof prepare>>();

const VERSION_COLUMNS = `id, server, version, digest, tools_digest AS toolsDigest, manifest, bundle, provenance, signer_kind AS signerKind,
  signer_fingerprint AS signerFingerprint, signer_identity AS signerIdentity, publisher, status, risk, published_at AS publishedAt,
  rejection_reason AS rejectionReason, rejected_by AS rejectedBy, rejected_at AS rejectedAt,
  revocation_reason AS revocationReason, revoked_by AS revokedBy, revoked_at AS revokedAt`;

/** VERSION_COLUMNS of the table aliased `v` (in statements that join it). */
const V_VERSION_COLUMNS = VERSION_COLUMNS.replace(/(^|, |\n\s*)(\w+)/g, '$1v.$2');
/** What authenticating a request reads of its token, from the table aliased `t` (the first six columns of the joined reads). */
const T_AUTH_COLUMNS = 't.id, t.principal, t.role, t.namespaces, t.expires_at, t.revoked_at';

// A page of servers by name, each with its newest version (the highest id, by the server's own
// index), in one statement: a page was one query plus one per server.
const SERVER_PAGE = `SELECT s.name AS name, v.version AS version, v.status AS status, v.digest AS digest FROM servers s
  LEFT JOIN versions v ON v.id = (SELECT max(l.id) FROM versions l INDEXED BY versions_server_version_idx WHERE l.server = s.name)
  WHERE s.name > ?`;

// A page of server names with each one's approved versions (a row with null id and version for a
// server without one), in one statement (PostgreSQL's).
const APPROVED_PAGE = (search: string) => `SELECT s.name AS name, v.id AS id, v.version AS version
  FROM (SELECT name FROM servers WHERE name > ? ${search} ORDER BY name LIMIT ?) s
  LEFT JOIN versions v INDEXED BY versions_server_status_idx ON v.server = s.name AND v.status = 'approved'`;

// The names of up to `limit` servers after `after` whose names contain a search (LIKE, the
// pattern of containsPattern), from the trigram index (migration 0008): the names holding the
// search's rarest trigram, walked in name order, each tested by LIKE, the walk stopping once the
// page is full. A trigram no name holds has no count row: the walk then finds nothing, rightly.
// Parameters: the search's trigrams (searchTrigrams, as a JSON array), after, pattern, limit.
const TRIGRAM_NAMES = `SELECT t.name AS name FROM server_trigrams t
  WHERE t.trigram = (SELECT j.value FROM json_each(?) j LEFT JOIN server_trigram_counts c ON c.trigram = j.value ORDER BY coalesce(c.n, 0) LIMIT 1)
    AND t.name > ? AND t.name LIKE ? ESCAPE '\\' ORDER BY t.name LIMIT ?`;

/**
 * On SQLite a page of server names with each one's approved versions as one JSON array of
 * [id, version] (empty for none), from versions_server_status_idx alone: a row per server, not
 * per version, and no sort (a joined row per version, sorted by name and version, cost twice as
 * much). `names` is a statement giving the page's names in order, as `name`.
 */
const APPROVED_AGGREGATE = (names: string) => `SELECT p.name, (SELECT json_group_array(json_array(v.id, v.version)) FROM versions v INDEXED BY versions_server_status_idx
  WHERE v.server = p.name AND v.status = 'approved') FROM (${names}) p`;

/**
 * Whether a version's answer may have changed at or after the time given twice as parameters
 * (an ASCII text: then SQLite's byte order of texts is JavaScript's order of them): an approval
 * created then, or with no approval its publishing then; a time stored as anything but text
 * counts as changed. 0 means the listing's own test (updatedAt, the newest approval's time, else
 * the publishing time, compared in JavaScript) would leave the version out: 1 is a superset of
 * what it keeps.
 */
const MAY_BE_UPDATED = `CASE WHEN EXISTS (SELECT 1 FROM approvals a WHERE a.version_id = v.id AND (typeof(a.created_at) <> 'text' OR a.created_at >= ?))
  OR (NOT EXISTS (SELECT 1 FROM approvals a WHERE a.version_id = v.id) AND (typeof(v.published_at) <> 'text' OR v.published_at >= ?)) THEN 1 ELSE 0 END`;

/** {@link APPROVED_AGGREGATE} with each version's {@link MAY_BE_UPDATED} third: [id, version, 0 or 1]. Parameters: the time twice, then `names`'. */
const APPROVED_AGGREGATE_SINCE = (names: string) => `SELECT p.name, (SELECT json_group_array(json_array(v.id, v.version, ${MAY_BE_UPDATED})) FROM versions v INDEXED BY versions_server_status_idx
  WHERE v.server = p.name AND v.status = 'approved') FROM (${names}) p`;

/**
 * What a v0.1 answer is made of (readMcpRows), per version and approval (one row per approval, a
 * row with null approval columns for a version without one): the version's id and status, its
 * stored server object text (server_json) and, only when that is null (a row not filled yet), the
 * manifest to make it from; then the immutable columns the `_meta` part carries, whether it has a
 * provenance (as JavaScript takes the text or null), and the approval's id, digest and time. The
 * bundle, the provenance and (when server_json is set) the manifest are never read.
 */
const mcpRowColumns = (hasProvenance: string) => `v.id, v.status, v.server_json, CASE WHEN v.server_json IS NULL THEN v.manifest END, v.server, v.version, v.digest, v.tools_digest, v.risk,
  v.publisher, v.signer_kind, v.signer_fingerprint, v.signer_identity, ${hasProvenance}, v.published_at, a.id, a.digest, a.created_at`;
// On SQLite a text provenance gives 1 or 0 and null gives null, as JavaScript takes the text or
// null; any other value is returned as it is, so its truthiness is still JavaScript's. On
// PostgreSQL (read as text on a pipelined connection) 1 or null.
const MCP_ROWS = `SELECT ${mcpRowColumns("CASE WHEN typeof(v.provenance) IN ('text', 'null') THEN v.provenance <> '' ELSE v.provenance END")}
  FROM versions v LEFT JOIN approvals a ON a.version_id = v.id WHERE v.id IN (SELECT value FROM json_each(?))`;
const PG_MCP_ROWS = `SELECT ${mcpRowColumns("CASE WHEN v.provenance <> '' THEN 1 END")}
  FROM versions v LEFT JOIN approvals a ON a.version_id = v.id WHERE v.id = ANY($1::bigint[])`;

/** `x` as JSON text, escaped as JSON.stringify escapes a string (SQLite's json_quote, the same for every valid text). */
const q = (x: string) => `json_quote(${x})`;
/**
 * The same on PostgreSQL: to_json of a text escapes `"`, `\`, \b \f \n \r \t and the other
 * control characters as \u00xx (lower-case hex), as JSON.stringify does, and passes everything
 * else as it is (a text there holds no NUL and no lone surrogate).
 */
const pq = (x: string) => `to_json(${x}::text)::text`;
/** The record's text columns are all text (the nullable ones text or null): else the record is read as usual (a row written behind the registry's back). */
const TEXT_RECORD = [
  ...['server', 'version', 'digest', 'tools_digest', 'manifest', 'bundle', 'signer_kind', 'signer_fingerprint', 'publisher', 'status', 'risk', 'published_at'].map((c) => `typeof(v.${c}) = 'text'`),
  ...['provenance', 'signer_identity', 'rejection_reason', 'rejected_by', 'rejected_at', 'revocation_reason', 'revoked_by', 'revoked_at'].map((c) => `typeof(v.${c}) IN ('text', 'null')`),
].join(' AND ');
/**
 * A version record's JSON text before its publisher bundle, as versionJson (apps/registry)
 * writes it with JSON.stringify: made by SQLite in one pass (concat), so a read hands over one
 * string, not twenty-one columns each set into an array and escaped again in JavaScript.
 * `<> ''` is JavaScript's truthiness of a text or null.
 */
const recordHead = (q: (x: string) => string) => `concat('{"name":', ${q('v.server')}, ',"version":', ${q('v.version')}, ',"digest":', ${q('v.digest')}, ',"toolsDigest":', ${q('v.tools_digest')},
  ',"manifest":', v.manifest, ',"status":', ${q('v.status')}, ',"risk":', ${q('v.risk')}, ',"publisher":', ${q('v.publisher')}, ',"signer":{"kind":', ${q('v.signer_kind')},
  ',"keyFingerprint":', ${q('v.signer_fingerprint')}, CASE WHEN v.signer_identity <> '' THEN concat(',"identity":', ${q('v.signer_identity')}) ELSE '' END,
  '},"publishedAt":', ${q('v.published_at')}, ',"bundle":')`;
const RECORD_HEAD = `CASE WHEN ${TEXT_RECORD} THEN ${recordHead(q)} END`;
/** What comes between the bundle and the approvals (the provenance), and after the approvals (rejection, revocation, the closing brace). */
const RECORD_BEFORE_APPROVALS = `CASE WHEN v.provenance <> '' THEN concat(',"provenance":', v.provenance) ELSE '' END`;
const recordEnd = (q: (x: string) => string) => `concat(
  CASE WHEN v.rejected_at <> '' THEN concat(',"rejection":{"reason":', ${q("coalesce(v.rejection_reason, '')")}, ',"by":', ${q("coalesce(v.rejected_by, '')")}, ',"at":', ${q('v.rejected_at')}, '}') ELSE '' END,
  CASE WHEN v.revoked_at <> '' THEN concat(',"revocation":{"reason":', ${q("coalesce(v.revocation_reason, '')")}, ',"by":', ${q("coalesce(v.revoked_by, '')")}, ',"at":', ${q('v.revoked_at')}, '}') ELSE '' END, '}')`;
const RECORD_END = recordEnd(q);
const approvalText = (q: (x: string) => string) => `concat('{"digest":', ${q('a.digest')}, ',"reviewer":', ${q('a.reviewer')}, ',"bundle":', a.bundle, ',"createdAt":', ${q('a.created_at')}, '}')`;
/** One approval of a record as JSON text (null when a column is not text: the record is then read as usual). */
const APPROVAL_TEXT = `CASE WHEN typeof(a.digest) = 'text' AND typeof(a.reviewer) = 'text' AND typeof(a.bundle) = 'text' AND typeof(a.created_at) = 'text'
  THEN ${approvalText(q)} END`;
/**
 * The record text of one GET version on PostgreSQL, as SQLite's tokenAndVersionText: its columns
 * are typed text there, so no check of their types; an approval's text is null only when no
 * approval is stored (a.id null).
 */
const PG_RECORD_TEXT = `v.id, v.bundle, ${recordHead(pq)}, ${RECORD_BEFORE_APPROVALS}, ${recordEnd(pq)}, a.id, CASE WHEN a.id IS NOT NULL THEN ${approvalText(pq)} END`;

/**
 * The snapshot a statement reads under, as text (batchedTokenAndVersion's stamp); null on a hot
 * standby, whose snapshot lists the primary's running transactions apart from its text (nothing
 * is kept there).
 */
const PG_SNAPSHOT = 'CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_snapshot()::text END';

function prepare(sqlite: Database.Database) {
  return {
    /** The connection these are prepared on (read-memo.ts keeps answers per connection). */
    connection: sqlite,
    // Raw rows (arrays), named by versionRow(): better-sqlite3 builds each row object key by key,
    // which was a third of a version read's cost.
    version: sqlite.prepare(`SELECT ${VERSION_COLUMNS} FROM versions WHERE server = ? AND version = ?`).raw(true),
    versionById: sqlite.prepare(`SELECT ${VERSION_COLUMNS} FROM versions WHERE id = ?`).raw(true),
    approvals: sqlite.prepare('SELECT digest, reviewer, bundle, created_at AS createdAt FROM approvals WHERE version_id = ? ORDER BY id').raw(true),
    // The ids as one JSON array parameter: one prepared statement whatever their number.
    // The ids as one JSON array parameter: one prepared statement whatever their number.
    mcpRows: sqlite.prepare(MCP_ROWS).raw(true),
    mcpRow: sqlite.prepare(MCP_ROWS.replace('IN (SELECT value FROM json_each(?))', '= ?')).raw(true),
    approvalDigests: sqlite.prepare('SELECT digest, created_at AS createdAt FROM approvals WHERE version_id = ? ORDER BY id'),
    serverExists: sqlite.prepare('SELECT 1 FROM servers WHERE name = ?').pluck(),
    // By the server's own index: with many versions the planner would otherwise walk every row
    // in id order (ORDER BY id … LIMIT) or every approved version (status index) to find one server's.
    summaries: sqlite.prepare('SELECT id, version, digest, status, risk, published_at AS publishedAt FROM versions INDEXED BY versions_server_version_idx WHERE server = ? ORDER BY id DESC'),
    // An authenticated v0.1 GET version in one statement: the token's columns, then one of the
    // server's approved versions per row (the token repeated; nulls where none is stored).
    tokenAndApproved: sqlite
      .prepare(
        `SELECT ${T_AUTH_COLUMNS}, v.id, v.version
        FROM (SELECT 1) AS one LEFT JOIN tokens t ON t.secret_hash = ? LEFT JOIN versions v INDEXED BY versions_server_status_idx ON v.server = ? AND v.status = 'approved'`,
      )
      .raw(true),
    // A version and the digests and times of its approvals in one statement (one per row,
    // unordered: sorted by id after, as for tokenAndVersion).
    versionAndDigests: sqlite.prepare(`SELECT ${V_VERSION_COLUMNS}, a.id, a.digest, a.created_at FROM versions v LEFT JOIN approvals a ON a.version_id = v.id WHERE v.id = ?`).raw(true),
    // An authenticated GET server in one statement: the token's columns, then one version summary
    // per row (the token repeated; nulls where none is stored), newest first.
    tokenAndSummaries: sqlite
      .prepare(
        `SELECT ${T_AUTH_COLUMNS}, v.id, v.version, v.digest, v.status, v.risk, v.published_at
        FROM (SELECT 1) AS one LEFT JOIN tokens t ON t.secret_hash = ? LEFT JOIN versions v INDEXED BY versions_server_version_idx ON v.server = ? ORDER BY v.id DESC`,
      )
      .raw(true),
    latest: sqlite.prepare('SELECT version, status, digest FROM versions INDEXED BY versions_server_version_idx WHERE server = ? ORDER BY id DESC LIMIT 1'),
    approvedOf: sqlite.prepare("SELECT id, version FROM versions INDEXED BY versions_server_status_idx WHERE server = ? AND status = 'approved'"),
    serverPage: sqlite.prepare(`${SERVER_PAGE} ORDER BY s.name LIMIT ?`),
    serverPageSearch: sqlite.prepare(`${SERVER_PAGE} AND s.name LIKE ? ESCAPE '\\' ORDER BY s.name LIMIT ?`),
    serverPageTrigrams: sqlite.prepare(
      `SELECT s.name AS name, v.version AS version, v.status AS status, v.digest AS digest FROM (${TRIGRAM_NAMES}) w JOIN servers s ON s.name = w.name
      LEFT JOIN versions v ON v.id = (SELECT max(l.id) FROM versions l INDEXED BY versions_server_version_idx WHERE l.server = s.name) ORDER BY s.name`,
    ),
    approvedPage: sqlite.prepare(APPROVED_AGGREGATE('SELECT name FROM servers WHERE name > ? ORDER BY name LIMIT ?')).raw(true),
    approvedPageSearch: sqlite.prepare(APPROVED_AGGREGATE("SELECT name FROM servers WHERE name > ? AND name LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?")).raw(true),
    approvedPageTrigrams: sqlite.prepare(APPROVED_AGGREGATE(`SELECT s.name FROM (${TRIGRAM_NAMES}) w JOIN servers s ON s.name = w.name ORDER BY s.name`)).raw(true),
    approvedPageSince: sqlite.prepare(APPROVED_AGGREGATE_SINCE('SELECT name FROM servers WHERE name > ? ORDER BY name LIMIT ?')).raw(true),
    approvedPageSearchSince: sqlite.prepare(APPROVED_AGGREGATE_SINCE("SELECT name FROM servers WHERE name > ? AND name LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?")).raw(true),
    approvedPageTrigramsSince: sqlite.prepare(APPROVED_AGGREGATE_SINCE(`SELECT s.name FROM (${TRIGRAM_NAMES}) w JOIN servers s ON s.name = w.name ORDER BY s.name`)).raw(true),
    auditTip: sqlite.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1'),
    tokenAuth: sqlite.prepare('SELECT id, principal, role, namespaces, expires_at AS expiresAt, revoked_at AS revokedAt FROM tokens WHERE secret_hash = ?'),
    // An authenticated GET version in one statement (one read transaction, one consistent
    // snapshot): the token's columns, the version's, then one of its approvals per row (the
    // token and version repeated; a row of nulls where none is stored). Unordered: the approvals'
    // index is by reviewer, so a sort here would cost a temporary b-tree every read; sorted by id after.
    tokenAndVersion: sqlite
      .prepare(
        `SELECT ${T_AUTH_COLUMNS}, ${V_VERSION_COLUMNS}, a.id, a.digest, a.reviewer, a.bundle, a.created_at
        FROM (SELECT 1) AS one LEFT JOIN tokens t ON t.secret_hash = ? LEFT JOIN versions v ON v.server = ? AND v.version = ? LEFT JOIN approvals a ON a.version_id = v.id`,
      )
      .raw(true),
    // tokenAndVersion with the record as JSON text (RECORD_HEAD, …): the token's six columns, the
    // version's id and stored bundle, its text before the bundle, before the approvals and after
    // them, then one approval's id and text per row (unordered, as tokenAndVersion: sorted by id after).
    tokenAndVersionText: sqlite
      .prepare(
        `SELECT ${T_AUTH_COLUMNS}, v.id, v.bundle, ${RECORD_HEAD}, ${RECORD_BEFORE_APPROVALS}, ${RECORD_END}, a.id, ${APPROVAL_TEXT}
        FROM (SELECT 1) AS one LEFT JOIN tokens t ON t.secret_hash = ? LEFT JOIN versions v ON v.server = ? AND v.version = ? LEFT JOIN approvals a ON a.version_id = v.id`,
      )
      .raw(true),
    token: sqlite
      .prepare('SELECT id, principal, secret_hash AS secretHash, role, namespaces, created_at AS createdAt, created_by AS createdBy, expires_at AS expiresAt, revoked_at AS revokedAt FROM tokens WHERE secret_hash = ?')
      .raw(true),
  };
}

type Statements = ReturnType<typeof prepare>;

/**
 * The hot reads on PostgreSQL: the same columns under the same names, as named statements. The
 * server parses and plans a named statement once per connection and the driver then sends only
 * Bind and Execute, and no query builder runs per call: with every read a round trip to another
 * process on the same cores, the builder and the server's parse were most of a GET's cost.
 * `pipelined`: a short read by index (one token, one version, one server's versions), sent on a
 * pipelined connection outside transactions (database.ts, Pipelines); the listing pages, whose
 * time grows with a search, go to the pool so they never hold up the reads queued behind them.
 */
function pgListing(text: string): string {
  return text.replace(/INDEXED BY \w+ /g, '');
}
const PG_VERSION_COLUMNS = VERSION_COLUMNS.replace(/ AS (\w+)/g, ' AS "$1"');
const PG = {
  version: { name: 'sigil_read_version', text: `SELECT ${PG_VERSION_COLUMNS} FROM versions WHERE server = $1 AND version = $2`, pipelined: true },
  // The version and its approvals in one statement (one round trip for GET version).
  versionWithApprovals: {
    name: 'sigil_read_version_with_approvals',
    text: `SELECT ${PG_VERSION_COLUMNS}, (SELECT coalesce(json_agg(json_build_object('digest', a.digest, 'reviewer', a.reviewer, 'bundle', a.bundle, 'createdAt', a.created_at) ORDER BY a.id), '[]')
      FROM approvals a WHERE a.version_id = versions.id) AS approvals FROM versions WHERE server = $1 AND version = $2`,
    pipelined: true,
  },
  versionById: { name: 'sigil_read_version_by_id', text: `SELECT ${PG_VERSION_COLUMNS} FROM versions WHERE id = $1`, pipelined: true },
  // Short (a page's versions by id, their approvals by index): on a pipelined connection outside
  // transactions, as text, the ids as numbers.
  mcpRows: { name: 'sigil_read_mcp_rows', text: PG_MCP_ROWS, rowMode: 'array', pipelined: true, numbers: [0, 15] },
  approvalDigests: { name: 'sigil_read_approval_digests', text: 'SELECT digest, created_at AS "createdAt" FROM approvals WHERE version_id = $1 ORDER BY id', pipelined: true },
  // The listing pages: SQLite's statements without its index hints (PostgreSQL's planner takes the
  // server's index by itself), with numbered parameters.
  serverPage: { name: 'sigil_read_server_page', text: numberedPlaceholders(pgListing(`${SERVER_PAGE} ORDER BY s.name LIMIT ?`)) },
  // lower(name) against a pattern lowered for A-Z (foldedPattern): LIKE on PostgreSQL is case-sensitive, on SQLite it folds ASCII.
  serverPageSearch: { name: 'sigil_read_server_page_search', text: numberedPlaceholders(pgListing(`${SERVER_PAGE} AND lower(s.name) LIKE ? ESCAPE '\\' ORDER BY s.name LIMIT ?`)) },
  approvedPage: { name: 'sigil_read_approved_page', text: numberedPlaceholders(pgListing(`${APPROVED_PAGE('')} ORDER BY s.name, v.version`)) },
  approvedPageSearch: { name: 'sigil_read_approved_page_search', text: numberedPlaceholders(pgListing(`${APPROVED_PAGE("AND lower(name) LIKE ? ESCAPE '\\'")} ORDER BY s.name, v.version`)) },
  approvals: { name: 'sigil_read_approvals', text: 'SELECT digest, reviewer, bundle, created_at AS "createdAt" FROM approvals WHERE version_id = $1 ORDER BY id', pipelined: true },
  serverExists: { name: 'sigil_read_server_exists', text: 'SELECT 1 AS one FROM servers WHERE name = $1', pipelined: true },
  summaries: { name: 'sigil_read_summaries', text: 'SELECT id, version, digest, status, risk, published_at AS "publishedAt" FROM versions WHERE server = $1 ORDER BY id DESC', pipelined: true },
  latest: { name: 'sigil_read_latest', text: 'SELECT version, status, digest FROM versions WHERE server = $1 ORDER BY id DESC LIMIT 1', pipelined: true },
  approvedOf: { name: 'sigil_read_approved_of', text: "SELECT id, version FROM versions WHERE server = $1 AND status = 'approved'", pipelined: true },
  auditTip: { name: 'sigil_read_audit_tip', text: 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1', pipelined: true },
  // The token asking and the version it asks for (with its approvals) in one statement: one
  // round trip for an authenticated GET version. Rows as arrays (the token's columns, then the
  // version's, then its approvals): no column names to match up per row.
  tokenAndVersion: {
    name: 'sigil_read_token_and_version',
    // SQLite's statement: one row per approval (the token and version repeated), or one with
    // nulls; the approval bundles come back as the text stored, not escaped into JSON and parsed.
    text: `SELECT ${T_AUTH_COLUMNS}, ${V_VERSION_COLUMNS}, a.id, a.digest, a.reviewer, a.bundle, a.created_at
      FROM (SELECT) AS one LEFT JOIN tokens t ON t.secret_hash = $1 LEFT JOIN versions v ON v.server = $2 AND v.version = $3 LEFT JOIN approvals a ON a.version_id = v.id`,
    rowMode: 'array',
    pipelined: true,
    // Read as text on a pipelined connection: the ids as numbers.
    numbers: [6, 27],
  },
  // SQLite's tokenAndVersionText: the token's six columns, the version's id and stored bundle,
  // the record's JSON text before the bundle, before the approvals and after them, then one
  // approval's id and text per row (sorted by id after), made by the server in one pass: no
  // twenty-one columns each made a string, set into an array and escaped again in JavaScript.
  tokenAndVersionText: {
    name: 'sigil_read_token_and_version_text',
    text: `SELECT ${T_AUTH_COLUMNS}, ${PG_RECORD_TEXT}
      FROM (SELECT) AS one LEFT JOIN tokens t ON t.secret_hash = $1 LEFT JOIN versions v ON v.server = $2 AND v.version = $3 LEFT JOIN approvals a ON a.version_id = v.id`,
    rowMode: 'array',
    pipelined: true,
    numbers: [6, 11],
  },
  // The same for the GET versions of one turn of the event loop, in one statement: one row per
  // distinct (token, version) asked and approval (the ordinal of its question first, then the
  // columns above); read by readTokenAndVersionText through batchedTokenAndVersion.
  tokenAndVersionBatch: {
    name: 'sigil_read_token_and_version_text_batch',
    // The statement's own snapshot last (kept answers are kept under it: batchedTokenAndVersion).
    text: `SELECT q.i, ${T_AUTH_COLUMNS}, ${PG_RECORD_TEXT}, ${PG_SNAPSHOT}
      FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS q(secret_hash, server, version, i)
      LEFT JOIN tokens t ON t.secret_hash = q.secret_hash LEFT JOIN versions v ON v.server = q.server AND v.version = q.version LEFT JOIN approvals a ON a.version_id = v.id`,
    numbers: [0, 7, 12],
  },
  // The snapshot a statement sent now reads under: which transactions it sees (batchedTokenAndVersion's stamp).
  snapshot: {
    name: 'sigil_read_snapshot',
    text: `SELECT ${PG_SNAPSHOT}`,
  },
  // The token and every version of one server, newest first, in one statement (GET server), as SQLite's.
  tokenAndSummaries: {
    name: 'sigil_read_token_and_summaries',
    text: `SELECT t.id, t.principal, t.role, t.namespaces, t.expires_at, t.revoked_at, v.id, v.version, v.digest, v.status, v.risk, v.published_at
      FROM (SELECT) AS one LEFT JOIN tokens t ON t.secret_hash = $1 LEFT JOIN versions v ON v.server = $2 ORDER BY v.id DESC`,
    rowMode: 'array',
    pipelined: true,
    numbers: [6],
  },
  // v0.1 GET version: the token and a server's approved versions, then the version served and
  // its approval digests (one per row, sorted by id after): SQLite's statements.
  tokenAndApproved: {
    name: 'sigil_read_token_and_approved',
    text: `SELECT ${T_AUTH_COLUMNS}, v.id, v.version FROM (SELECT) AS one LEFT JOIN tokens t ON t.secret_hash = $1 LEFT JOIN versions v ON v.server = $2 AND v.status = 'approved'`,
    rowMode: 'array',
    pipelined: true,
    numbers: [6],
  },
  versionAndDigests: {
    name: 'sigil_read_version_and_digests',
    text: `SELECT ${V_VERSION_COLUMNS}, a.id, a.digest, a.created_at FROM versions v LEFT JOIN approvals a ON a.version_id = v.id WHERE v.id = $1`,
    rowMode: 'array',
    pipelined: true,
    numbers: [0, 21],
  },
  token: {
    name: 'sigil_read_token',
    text: 'SELECT id, principal, secret_hash AS "secretHash", role, namespaces, created_at AS "createdAt", created_by AS "createdBy", expires_at AS "expiresAt", revoked_at AS "revokedAt" FROM tokens WHERE secret_hash = $1',
    pipelined: true,
  },
} as const;

/**
 * A named statement of {@link PG} on the executor's connection (the pool, or the transaction's
 * client); a short one (`pipelined`) on a pipelined connection when outside a transaction.
 */
export function readPg<R>(ex: Executor, statement: { name: string; text: string; rowMode?: 'array'; pipelined?: boolean; numbers?: readonly number[] }, values: unknown[]): Promise<R[]> {
  if (statement.pipelined) {
    const client = (ex as Partial<{ pipelined(): PgQueryable | undefined }>).pipelined?.();
    if (client && statement.numbers) return textRows(client, statement, values as Array<string | number>).then((rows) => typedRows(rows, statement.numbers!) as R[]);
    if (client) return client.query({ name: statement.name, text: statement.text, values, ...(statement.rowMode ? { rowMode: statement.rowMode } : {}) }).then((r) => r.rows as R[]);
  }
  return query(ex, (q) => ({
    execute: async () => (await (q as Drizzle & { $client: PgQueryable }).$client.query({ ...statement, values })).rows as R[],
  }));
}

/** Rows of server text as the driver gives them, with the `numbers` columns (bigint, integer) as numbers. */
function typedRows(rows: Array<Array<unknown>>, numbers: readonly number[]): unknown[][] {
  for (const row of rows) for (const i of numbers) if (row[i] !== null) row[i] = Number(row[i]);
  return rows;
}

/**
 * One read: the prepared SQLite statement when `ex` is SQLite; on PostgreSQL the named statement
 * when one is given, the query builder otherwise. Run like {@link query}, so it never reads inside
 * someone else's open transaction: on SQLite, when no transaction is open (or this is its own),
 * the statement runs at once, checked and run in the same tick, without query()'s layers of
 * promises; otherwise it waits through query().
 */
function read<T>(ex: Executor, sqlite: (s: Statements) => T | Promise<T>, builder: (q: Drizzle) => Promise<T>, pg?: () => Promise<T>): Promise<T> {
  if (ex.dialect !== 'sqlite') return pg ? pg() : query(ex, (q) => ({ execute: () => builder(q) }));
  const q = ex.handle();
  if (q) {
    try {
      return Promise.resolve(sqlite(statementsOf(q)));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
  return query(ex, (q) => ({ execute: async () => sqlite(statementsOf(q)) }));
}

/**
 * {@link read} of a point read whose SQLite answer read-memo.ts keeps while the database's change
 * stamp stays, under `key` when `keep(answer)`: checked at the end of the turn with the turn's
 * other asks, or read through the query path when a transaction is open then.
 */
function keptRead<T>(ex: Executor, key: string, sqlite: (s: Statements) => T, keep: (answer: T) => boolean, builder: (q: Drizzle) => Promise<T>, pg: () => Promise<T>): Promise<T> {
  return read(
    ex,
    (s) => remembered(s.connection, key, () => sqlite(s), keep, () => query(ex, (q) => ({ execute: async () => sqlite(statementsOf(q)) }))),
    builder,
    pg,
  );
}

function statementsOf(q: Drizzle): Statements {
  // drizzle() puts the connection on the handle it returns; the Drizzle type leaves it out.
  const connection = (q as Drizzle & { $client: Database.Database }).$client;
  let s = cache.get(connection);
  if (!s) {
    s = prepare(connection);
    cache.set(connection, s);
  }
  return s;
}

type Raw = unknown[] | undefined;

function tokenRow(r: Raw): TokenRow | undefined {
  if (!r) return undefined;
  return { id: r[0], principal: r[1], secretHash: r[2], role: r[3], namespaces: r[4], createdAt: r[5], createdBy: r[6], expiresAt: r[7], revokedAt: r[8] } as TokenRow;
}

/** The token of a joined read's raw row (its first six columns: T_AUTH_COLUMNS), or undefined when none was stored. */
function tokenAuthRow(r: unknown[]): TokenAuthRow | undefined {
  return r[0] === null ? undefined : ({ id: r[0], principal: r[1], role: r[2], namespaces: r[3], expiresAt: r[4], revokedAt: r[5] } as TokenAuthRow);
}

/** A raw row of VERSION_COLUMNS, named (in the same order). */
function versionRow(r: Raw): VersionRecordRow | undefined {
  if (!r) return undefined;
  return {
    id: r[0], server: r[1], version: r[2], digest: r[3], toolsDigest: r[4], manifest: r[5], bundle: r[6], provenance: r[7], signerKind: r[8], signerFingerprint: r[9], signerIdentity: r[10],
    publisher: r[11], status: r[12], risk: r[13], publishedAt: r[14], rejectionReason: r[15], rejectedBy: r[16], rejectedAt: r[17], revocationReason: r[18], revokedBy: r[19], revokedAt: r[20],
  } as VersionRecordRow;
}

function approvalRows(rows: unknown[]): ApprovalRecordRow[] {
  return (rows as unknown[][]).map((r) => ({ digest: r[0], reviewer: r[1], bundle: r[2], createdAt: r[3] }) as ApprovalRecordRow);
}

/** The token whose secret hashes to `secretHash` (what every authenticated request reads); on SQLite the same object while no row changed: read it, never change it. */
export function readToken(db: Executor, secretHash: string): Promise<TokenRow | undefined> {
  return keptRead(
    db,
    // Kept while the database's change stamp stays (read-memo.ts), for a known token: every
    // authenticated request reads it (POST /v1/status's one statement of its own).
    `token ${secretHash}`,
    (s) => tokenRow(s.token.get(secretHash) as Raw),
    (row) => row !== undefined,
    async (q) => (await q.select().from(tokens).where(eq(tokens.secretHash, secretHash)).limit(1))[0],
    async () => (await readPg<TokenRow>(db, PG.token, [secretHash]))[0],
  );
}

/** What authenticating a request reads of its token. */
export type TokenAuthRow = Pick<TokenRow, 'id' | 'principal' | 'role' | 'namespaces' | 'expiresAt' | 'revokedAt'>;

/** A stored version (without its findings) and its approvals, oldest first. */
export interface VersionWithApprovals {
  row: VersionRecordRow;
  approvals: ApprovalRecordRow[];
}

/** A token and a version read together ({@link readTokenAndVersion}); each undefined when not stored. */
export interface TokenAndVersion {
  token: TokenAuthRow | undefined;
  found: VersionWithApprovals | undefined;
}

/**
 * The token whose secret hashes to `secretHash` and the version `server@version` with its
 * approvals, read together (an authenticated GET version): one statement on PostgreSQL, where
 * every read is a round trip to another process; the prepared statements at once on SQLite.
 * Each is undefined when not stored; the caller checks the token before using the version.
 */
export function readTokenAndVersion(db: Executor, secretHash: string, server: string, version: string): Promise<TokenAndVersion> {
  return read(
    db,
    (s) => tokenAndVersionOf(s.tokenAndVersion.all(secretHash, server, version) as unknown[][]),
    async (q) => {
      const [token] = await q.select({ id: tokens.id, principal: tokens.principal, role: tokens.role, namespaces: tokens.namespaces, expiresAt: tokens.expiresAt, revokedAt: tokens.revokedAt }).from(tokens).where(eq(tokens.secretHash, secretHash)).limit(1);
      const [row] = await q.select(recordColumns).from(versions).where(and(eq(versions.server, server), eq(versions.version, version))).limit(1);
      if (!row) return { token, found: undefined };
      const found = await q.select({ digest: approvals.digest, reviewer: approvals.reviewer, bundle: approvals.bundle, createdAt: approvals.createdAt }).from(approvals).where(eq(approvals.versionId, row.id)).orderBy(asc(approvals.id));
      return { token, found: { row, approvals: found } };
    },
    async () => tokenAndVersionOf(await readPg<unknown[]>(db, PG.tokenAndVersion, [secretHash, server, version])),
  );
}

/** A version record as JSON text around its publisher bundle (what versionJson writes), and the bundle as stored. */
export interface VersionText {
  /** The text before the publisher bundle. */
  head: string;
  /** The publisher bundle as stored (served with its log entry once a checkpoint covers it). */
  bundle: string;
  /** The text after the publisher bundle. */
  tail: string;
}

/** {@link readTokenAndVersionText}'s answer. */
export interface TokenAndVersionText {
  token: TokenAuthRow | undefined;
  found: VersionText | null | undefined;
}

/**
 * {@link readTokenAndVersion} with the version as JSON text: one statement, whose record the
 * database writes as the registry's versionJson does (a test holds the two together, on both
 * dialects). `found` is undefined when no such version is stored, null when a stored column is
 * not text (SQLite only, a row written behind the registry's back: read it as usual then, so it
 * is served as JSON.stringify writes it). On PostgreSQL the GET versions of one turn of the event
 * loop are one statement on a pipelined connection (batchedTokenAndVersion). On SQLite the answer
 * for a known token and a stored version is kept while the database's change stamp stays
 * (read-memo.ts): the same question then gets the same object, without the statement.
 */
export function readTokenAndVersionText(db: Executor, secretHash: string, server: string, version: string): Promise<TokenAndVersionText> {
  return keptRead(
    db,
    // Kept while the database's change stamp stays (read-memo.ts): a known token and a version stored.
    `version ${secretHash.length}:${secretHash}${server.length}:${server}${version}`,
    (s) => tokenAndVersionTextOf(s.tokenAndVersionText.all(secretHash, server, version) as unknown[][]),
    (read) => read.token !== undefined && read.found !== undefined,
    () => Promise.reject(new Error('unreachable: PostgreSQL reads through its statement')),
    async () => {
      const client = (db as Partial<{ pipelined(): PgQueryable | undefined }>).pipelined?.();
      if (!client) return tokenAndVersionTextOf(await readPg<unknown[]>(db, PG.tokenAndVersionText, [secretHash, server, version]));
      return batchedTokenAndVersion(db, client, secretHash, server, version);
    },
  );
}

/** The rows of either dialect's tokenAndVersionText statement, named: the first carries the token and the version's text. */
function tokenAndVersionTextOf(rows: unknown[][]): TokenAndVersionText {
  const r = rows[0]!;
  const token = tokenAuthRow(r);
  if (r[6] === null) return { token, found: undefined };
  if (r[8] === null) return { token, found: null };
  if (rows.length > 1) rows.sort((x, y) => (x[11] as number) - (y[11] as number));
  let approvalsText = '';
  for (const a of rows) {
    if (a[11] === null) continue;
    if (a[12] === null) return { token, found: null };
    approvalsText += approvalsText === '' ? a[12] : `,${a[12] as string}`;
  }
  return { token, found: { head: r[8] as string, bundle: r[7] as string, tail: `${r[9] as string},"approvals":[${approvalsText}]${r[10] as string}` } };
}

/** The rows of either dialect's tokenAndVersion statement, named: the first carries the token and the version. */
function tokenAndVersionOf(rows: unknown[][]): TokenAndVersion {
  const r = rows[0]!;
  const token = tokenAuthRow(r);
  const row = r[6] === null ? undefined : versionRow(r.slice(6, 27));
  if (!row) return { token, found: undefined };
  if (rows.length > 1) rows.sort((x, y) => (x[27] as number) - (y[27] as number));
  const list: ApprovalRecordRow[] = [];
  for (const a of rows) if (a[27] !== null) list.push({ digest: a[28], reviewer: a[29], bundle: a[30], createdAt: a[31] } as ApprovalRecordRow);
  return { token, found: { row, approvals: list } };
}

/** Most distinct questions in one batched statement (a larger turn sends several). */
const BATCH_MOST = 64;
/** Most GET version answers kept per registry on PostgreSQL (past it, all are dropped). */
const KEPT_MOST = 4096;
/** Most characters of record text kept per registry on PostgreSQL (past it, all are dropped). */
const KEPT_MOST_CHARS = 32 * 1024 * 1024;

type Waiting = Array<{ resolve: (read: TokenAndVersionText) => void; reject: (e: unknown) => void }>;
type Question = { values: [string, string, string]; waiting: Waiting };

/**
 * The GET version answers kept on PostgreSQL for one registry (its Db), with the snapshot they
 * were all read under (`pg_current_snapshot()`: the transactions a statement sees). Two snapshots
 * with the same text see the same transactions, so the same rows: while a statement sent now reads
 * under that snapshot, a kept answer is what reading it now would give. Any write anywhere on the
 * server takes a transaction id and moves the snapshot of every later statement (xmax, or the
 * in-progress list), on every instance, so a revocation made through another instance is read by
 * the first statement after it commits; a read-only load keeps it still.
 */
interface PgKept {
  snapshot: string | undefined;
  entries: Map<string, TokenAndVersionText>;
  /** The characters of the kept records' text, bounded by {@link KEPT_MOST_CHARS}. */
  chars: number;
}
const pgKept = new WeakMap<object, PgKept>();

interface Batch {
  client: PgQueryable;
  kept: PgKept;
  /** The questions, in order, by their key; each with the resolvers of everyone who asked it. */
  asked: Map<string, Question>;
}
let open: Batch | undefined;

/**
 * {@link PG}'s tokenAndVersionText for every GET version of this turn of the event loop in one
 * statement (tokenAndVersionBatch), sent at its end (setImmediate) on the pipelined connection
 * of the turn: the server starts one executor and answers one Sync for the batch instead of one
 * per read, and the driver handles one query. The same question asked twice in the turn (same
 * token, same version) is asked once and both get the same answer (one object: read it, never
 * change it). An answer for a known token and a stored version is kept with the snapshot it was
 * read under ({@link PgKept}); a turn that asks a kept question first reads the snapshot a
 * statement sent now sees (one short statement): the same, and the kept answers are served; another,
 * and they are dropped and read. Either way each answer is at least as new as the database when
 * its request arrived (the statements leave after the turn's requests were read). A failed
 * statement fails every read of it.
 */
function batchedTokenAndVersion(db: object, client: PgQueryable, secretHash: string, server: string, version: string): Promise<TokenAndVersionText> {
  if (!open || open.client !== client || open.asked.size >= BATCH_MOST) {
    let kept = pgKept.get(db);
    if (!kept) pgKept.set(db, (kept = { snapshot: undefined, entries: new Map(), chars: 0 }));
    const batch: Batch = { client, kept, asked: new Map() };
    open = batch;
    setImmediate(() => {
      if (open === batch) open = undefined;
      sendBatch(batch);
    });
  }
  // Lengths first: no two questions make the same key.
  const key = `${secretHash.length}:${secretHash}${server.length}:${server}${version}`;
  let question = open.asked.get(key);
  if (!question) open.asked.set(key, (question = { values: [secretHash, server, version], waiting: [] }));
  const waiting = question.waiting;
  return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
}

function sendBatch(batch: Batch): void {
  const { kept } = batch;
  const questions = [...batch.asked];
  const fail = (error: unknown) => {
    for (const [, q] of questions) for (const w of q.waiting) w.reject(error);
  };
  if (kept.snapshot === undefined || !questions.some(([key]) => kept.entries.has(key))) return readBatch(batch.client, kept, questions);
  textRows(batch.client, PG.snapshot, []).then((rows) => {
    const now = rows[0]?.[0];
    if (now === null || now === undefined || now !== kept.snapshot) forget(kept);
    const misses = questions.filter(([key, q]) => {
      const hit = kept.entries.get(key);
      if (hit === undefined) return true;
      for (const w of q.waiting) w.resolve(hit);
      return false;
    });
    if (misses.length > 0) readBatch(batch.client, kept, misses);
  }, fail);
}

function readBatch(client: PgQueryable, kept: PgKept, questions: Array<[string, Question]>): void {
  const column = (n: number) => arrayLiteral(questions.map(([, q]) => q.values[n]!));
  textRows(client, PG.tokenAndVersionBatch, [column(0), column(1), column(2)]).then(
    (rows) => {
      // Each question's rows (its ordinal first, from 1), without the ordinal and the snapshot: the single statement's rows.
      const of: unknown[][][] = questions.map(() => []);
      let snapshot: string | null | undefined;
      let answers: TokenAndVersionText[];
      try {
        for (const row of typedRows(rows, PG.tokenAndVersionBatch.numbers)) {
          snapshot = row[row.length - 1] as string | null;
          of[(row[0] as number) - 1]!.push(row.slice(1, -1));
        }
        answers = questions.map((_, i) => tokenAndVersionTextOf(of[i]!));
      } catch (error) {
        for (const [, q] of questions) for (const w of q.waiting) w.reject(error);
        return;
      }
      // All kept answers were read under one snapshot: answers of another replace them (none on a standby).
      if (snapshot !== kept.snapshot) {
        forget(kept);
        kept.snapshot = snapshot ?? undefined;
      }
      questions.forEach(([key, q], i) => {
        const read = answers[i]!;
        if (kept.snapshot !== undefined && read.token !== undefined && read.found) {
          const chars = read.found.head.length + read.found.bundle.length + read.found.tail.length;
          if (kept.entries.size >= KEPT_MOST || kept.chars + chars > KEPT_MOST_CHARS) {
            kept.entries.clear();
            kept.chars = 0;
          }
          kept.entries.set(key, read);
          kept.chars += chars;
        }
        for (const w of q.waiting) w.resolve(read);
      });
    },
    (error: unknown) => {
      for (const [, q] of questions) for (const w of q.waiting) w.reject(error);
    },
  );
}

function forget(kept: PgKept): void {
  kept.entries.clear();
  kept.chars = 0;
  kept.snapshot = undefined;
}

/** A PostgreSQL array literal of `items` (each quoted, its `"` and `\` escaped), for a text[] parameter sent as text. */
function arrayLiteral(items: readonly string[]): string {
  return `{${items.map((item) => `"${item.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * The token whose secret hashes to `secretHash` and every version of `server`, newest first
 * (what {@link readVersionSummaries} gives), read together for an authenticated GET server: one
 * statement on either dialect. On SQLite the answer for a known token is kept while the
 * database's change stamp stays (read-memo.ts).
 */
export function readTokenAndSummaries(db: Executor, secretHash: string, server: string): Promise<{ token: TokenAuthRow | undefined; summaries: VersionSummaryRow[] }> {
  const apart = async () => {
    const token = await readToken(db, secretHash);
    const summaries = await readVersionSummaries(db, server);
    return { token: token && { id: token.id, principal: token.principal, role: token.role, namespaces: token.namespaces, expiresAt: token.expiresAt, revokedAt: token.revokedAt }, summaries };
  };
  // One row per version (the token repeated), or one row of nulls: the token's columns, then the summary's.
  const named = (rows: unknown[][]) => {
    const token = tokenAuthRow(rows[0]!);
    const summaries: VersionSummaryRow[] = [];
    for (const v of rows) if (v[6] !== null) summaries.push({ id: v[6], version: v[7], digest: v[8], status: v[9], risk: v[10], publishedAt: v[11] } as VersionSummaryRow);
    return { token, summaries };
  };
  return keptRead(
    db,
    `server ${secretHash.length}:${secretHash}${server}`,
    (s) => named(s.tokenAndSummaries.all(secretHash, server) as unknown[][]),
    (read) => read.token !== undefined,
    apart,
    async () => named(await readPg<unknown[]>(db, PG.tokenAndSummaries, [secretHash, server])),
  );
}

/**
 * The token whose secret hashes to `secretHash` and the ids and versions of `server`'s approved
 * versions (what {@link readApprovedVersions} gives), read together for an authenticated v0.1
 * GET version: one statement on either dialect. On SQLite the answer for a known token is kept
 * while the database's change stamp stays (read-memo.ts): read it, never change it.
 */
export function readTokenAndApproved(db: Executor, secretHash: string, server: string): Promise<{ token: TokenAuthRow | undefined; approved: Array<{ id: number; version: string }> }> {
  const apart = async () => {
    const token = await readToken(db, secretHash);
    const approved = await readApprovedVersions(db, server);
    return { token: token && { id: token.id, principal: token.principal, role: token.role, namespaces: token.namespaces, expiresAt: token.expiresAt, revokedAt: token.revokedAt }, approved };
  };
  const named = (rows: unknown[][]) => {
    const approved: Array<{ id: number; version: string }> = [];
    for (const v of rows) if (v[6] !== null) approved.push({ id: v[6] as number, version: v[7] as string });
    return { token: tokenAuthRow(rows[0]!), approved };
  };
  return keptRead(
    db,
    `approved ${secretHash.length}:${secretHash}${server}`,
    (s) => named(s.tokenAndApproved.all(secretHash, server) as unknown[][]),
    (read) => read.token !== undefined,
    apart,
    async () => named(await readPg<unknown[]>(db, PG.tokenAndApproved, [secretHash, server])),
  );
}

/**
 * The version with this id (without its findings) and the digests and times of its approvals,
 * oldest first: one statement on either dialect.
 */
export function readVersionWithApprovalDigests(db: Executor, id: number): Promise<{ row: VersionRecordRow; approvals: Array<Pick<ApprovalRecordRow, 'digest' | 'createdAt'>> } | undefined> {
  const apart = async () => {
    const row = await readVersionById(db, id);
    return row && { row, approvals: await readApprovalDigests(db, id) };
  };
  const named = (rows: unknown[][]) => {
    const row = versionRow(rows[0]);
    if (!row) return undefined;
    if (rows.length > 1) rows.sort((x, y) => (x[21] as number) - (y[21] as number));
    const approvals: Array<Pick<ApprovalRecordRow, 'digest' | 'createdAt'>> = [];
    for (const a of rows) if (a[21] !== null) approvals.push({ digest: a[22] as string, createdAt: a[23] as string });
    return { row, approvals };
  };
  return read(
    db,
    (s) => named(s.versionAndDigests.all(id) as unknown[][]),
    apart,
    async () => named(await readPg<unknown[]>(db, PG.versionAndDigests, [id])),
  );
}

/** The newest audit event's sequence number and hash, or undefined for an empty chain (what every signed status carries). */
export function readAuditTip(db: Executor): Promise<{ seq: number; hash: string } | undefined> {
  return read(
    db,
    (s) => s.auditTip.get() as { seq: number; hash: string } | undefined,
    async (q) => (await q.select({ seq: auditEvents.seq, hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1))[0],
    async () => (await readPg<{ seq: number; hash: string }>(db, PG.auditTip, []))[0],
  );
}

/** A stored version without its lint findings and its v0.1 server text (what a version record is made of). */
export type VersionRecordRow = Omit<VersionRow, 'findings' | 'serverJson'>;
export interface ApprovalRecordRow {
  digest: string;
  reviewer: string;
  /** The approval's Sigstore bundle, as the JSON text stored. */
  bundle: string;
  createdAt: string;
}
export type VersionSummaryRow = Pick<VersionRow, 'id' | 'version' | 'digest' | 'status' | 'risk' | 'publishedAt'>;

const recordColumns = {
  id: versions.id,
  server: versions.server,
  version: versions.version,
  digest: versions.digest,
  toolsDigest: versions.toolsDigest,
  manifest: versions.manifest,
  bundle: versions.bundle,
  provenance: versions.provenance,
  signerKind: versions.signerKind,
  signerFingerprint: versions.signerFingerprint,
  signerIdentity: versions.signerIdentity,
  publisher: versions.publisher,
  status: versions.status,
  risk: versions.risk,
  publishedAt: versions.publishedAt,
  rejectionReason: versions.rejectionReason,
  rejectedBy: versions.rejectedBy,
  rejectedAt: versions.rejectedAt,
  revocationReason: versions.revocationReason,
  revokedBy: versions.revokedBy,
  revokedAt: versions.revokedAt,
};

/** The version `server@version`, without its findings. */
export function readVersion(db: Executor, server: string, version: string): Promise<VersionRecordRow | undefined> {
  return read(
    db,
    (s) => versionRow(s.version.get(server, version) as Raw),
    async (q) => (await q.select(recordColumns).from(versions).where(and(eq(versions.server, server), eq(versions.version, version))).limit(1))[0],
    async () => (await readPg<VersionRecordRow>(db, PG.version, [server, version]))[0],
  );
}

/**
 * The version `server@version` (without its findings) and its approvals, oldest first, read
 * together: one statement on PostgreSQL, where every read is a round trip; the two prepared
 * statements at once on SQLite.
 */
export function readVersionWithApprovals(db: Executor, server: string, version: string): Promise<VersionWithApprovals | undefined> {
  return read(
    db,
    (s) => {
      const row = versionRow(s.version.get(server, version) as Raw);
      return row && { row, approvals: approvalRows(s.approvals.all(row.id)) };
    },
    async (q) => {
      const [row] = await q.select(recordColumns).from(versions).where(and(eq(versions.server, server), eq(versions.version, version))).limit(1);
      if (!row) return undefined;
      const found = await q.select({ digest: approvals.digest, reviewer: approvals.reviewer, bundle: approvals.bundle, createdAt: approvals.createdAt }).from(approvals).where(eq(approvals.versionId, row.id)).orderBy(asc(approvals.id));
      return { row, approvals: found };
    },
    async () => {
      const [found] = await readPg<VersionRecordRow & { approvals: ApprovalRecordRow[] }>(db, PG.versionWithApprovals, [server, version]);
      if (!found) return undefined;
      const { approvals: list, ...row } = found;
      return { row, approvals: list };
    },
  );
}

/** The version with this id, without its findings. */
export function readVersionById(db: Executor, id: number): Promise<VersionRecordRow | undefined> {
  return read(
    db,
    (s) => versionRow(s.versionById.get(id) as Raw),
    async (q) => (await q.select(recordColumns).from(versions).where(eq(versions.id, id)).limit(1))[0],
    async () => (await readPg<VersionRecordRow>(db, PG.versionById, [id]))[0],
  );
}

/** The approvals of a version, oldest first, with their bundles as stored text. */
export function readApprovals(db: Executor, versionId: number): Promise<ApprovalRecordRow[]> {
  return read(
    db,
    (s) => approvalRows(s.approvals.all(versionId)),
    (q) => q.select({ digest: approvals.digest, reviewer: approvals.reviewer, bundle: approvals.bundle, createdAt: approvals.createdAt }).from(approvals).where(eq(approvals.versionId, versionId)).orderBy(asc(approvals.id)).execute(),
    () => readPg<ApprovalRecordRow>(db, PG.approvals, [versionId]),
  );
}

/**
 * A version as a v0.1 answer is made of ({@link readMcpRows}), typed as the schema says; a value
 * written behind the registry's back comes as stored (a BLOB as a Buffer), and JSON.stringify
 * writes it as such.
 */
export interface McpVersionRow extends Pick<VersionRow, 'id' | 'status' | 'server' | 'version' | 'digest' | 'toolsDigest' | 'risk' | 'publisher' | 'signerKind' | 'signerFingerprint' | 'signerIdentity' | 'publishedAt'> {
  /** The `server` object's JSON text: as stored (server_json), or made from the manifest when that is null. */
  serverJson: string;
  /** Whether it has a provenance, as JavaScript's truthiness of it. */
  hasProvenance: unknown;
  /** Its approvals' digests and times, oldest first. */
  approvals: Array<{ digest: string; createdAt: string }>;
}

/**
 * The versions with these ids as a v0.1 answer is made of, one statement for all of them (their
 * approvals joined), read from the database now; in no particular order, ids not found left out.
 * Columns come as stored (a value of another type than the schema's included), so the answer made
 * of them is what JSON.stringify writes for them.
 */
export function readMcpRows(db: Executor, ids: readonly number[]): Promise<McpVersionRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return read(
    db,
    (s) => mcpRows((ids.length === 1 ? s.mcpRow.all(ids[0]) : s.mcpRows.all(JSON.stringify(ids))) as unknown[][]),
    () => Promise.reject(new Error('readMcpRows has a statement per dialect')),
    // The ids as an array literal: a pipelined connection sends every parameter as text.
    async () => mcpRows(await readPg<unknown[]>(db, PG.mcpRows, [`{${ids.join(',')}}`])),
  );
}

function mcpRows(raw: unknown[][]): McpVersionRow[] {
  const byId = new Map<number, McpVersionRow>();
  // Oldest approval first: the approvals' index is by reviewer, so the statement leaves them unordered.
  if (raw.length > 1) raw.sort((x, y) => (x[15] as number) - (y[15] as number));
  for (const r of raw) {
    const id = r[0] as number;
    let row = byId.get(id);
    if (!row) {
      row = {
        id, status: r[1], serverJson: r[2] === null ? serverJsonOf(r[3]) : r[2], server: r[4], version: r[5], digest: r[6], toolsDigest: r[7], risk: r[8],
        publisher: r[9], signerKind: r[10], signerFingerprint: r[11], signerIdentity: r[12], hasProvenance: r[13], publishedAt: r[14], approvals: [],
      } as unknown as McpVersionRow;
      byId.set(id, row);
    }
    if (r[15] !== null) row.approvals.push({ digest: r[16] as string, createdAt: r[17] as string });
  }
  return [...byId.values()];
}

/** The digests and times of a version's approvals, oldest first (without their bundles). */
export function readApprovalDigests(db: Executor, versionId: number): Promise<Array<Pick<ApprovalRecordRow, 'digest' | 'createdAt'>>> {
  return read(
    db,
    (s) => s.approvalDigests.all(versionId) as Array<Pick<ApprovalRecordRow, 'digest' | 'createdAt'>>,
    (q) => q.select({ digest: approvals.digest, createdAt: approvals.createdAt }).from(approvals).where(eq(approvals.versionId, versionId)).orderBy(asc(approvals.id)).execute(),
    () => readPg<Pick<ApprovalRecordRow, 'digest' | 'createdAt'>>(db, PG.approvalDigests, [versionId]),
  );
}

export function serverExists(db: Executor, name: string): Promise<boolean> {
  return read(
    db,
    (s) => s.serverExists.get(name) !== undefined,
    async (q) => (await q.select({ name: servers.name }).from(servers).where(eq(servers.name, name)).limit(1)).length > 0,
    async () => (await readPg(db, PG.serverExists, [name])).length > 0,
  );
}

/** Every version of a server, newest published first, without manifests or bundles. */
export function readVersionSummaries(db: Executor, server: string): Promise<VersionSummaryRow[]> {
  return read(
    db,
    (s) => s.summaries.all(server) as VersionSummaryRow[],
    (q) => q.select({ id: versions.id, version: versions.version, digest: versions.digest, status: versions.status, risk: versions.risk, publishedAt: versions.publishedAt }).from(versions).where(eq(versions.server, server)).orderBy(desc(versions.id)).execute(),
    () => readPg<VersionSummaryRow>(db, PG.summaries, [server]),
  );
}

/** The newest published version of a server (any status), or undefined. */
export function readLatestVersion(db: Executor, server: string): Promise<Pick<VersionRow, 'version' | 'status' | 'digest'> | undefined> {
  return read(
    db,
    (s) => s.latest.get(server) as Pick<VersionRow, 'version' | 'status' | 'digest'> | undefined,
    async (q) => (await q.select({ version: versions.version, status: versions.status, digest: versions.digest }).from(versions).where(eq(versions.server, server)).orderBy(desc(versions.id)).limit(1))[0],
    async () => (await readPg<Pick<VersionRow, 'version' | 'status' | 'digest'>>(db, PG.latest, [server]))[0],
  );
}

/** The ids and versions of a server's approved versions, in no particular order. */
export function readApprovedVersions(db: Executor, server: string): Promise<Array<{ id: number; version: string }>> {
  return read(
    db,
    (s) => s.approvedOf.all(server) as Array<{ id: number; version: string }>,
    (q) => q.select({ id: versions.id, version: versions.version }).from(versions).where(and(eq(versions.server, server), eq(versions.status, 'approved'))).execute(),
    () => readPg<{ id: number; version: string }>(db, PG.approvedOf, [server]),
  );
}

/** A server of a page, with its newest published version (any status), if any. */
export interface ServerPageRow {
  name: string;
  version: string | null;
  status: VersionRow['status'] | null;
  digest: string | null;
}

/**
 * `search` as a LIKE pattern that matches it literally anywhere in a name: LIKE treats `%` and
 * `_` as wildcards and has no escape character unless ESCAPE names one, so both are escaped, and
 * the escape character itself.
 */
export function containsPattern(search: string): string {
  return `%${search.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
}

/**
 * The distinct trigrams of `search` as a JSON array, as migration 0008's triggers index a server
 * name's: three characters each (code points, as SQLite's substr counts them), ASCII letters
 * lowered (as SQLite's lower() and LIKE fold them, and no other letter). Every name that contains
 * `search` by LIKE holds each of them. Undefined for a search under three characters, which has
 * none: such a search tests every name in order.
 */
export function searchTrigrams(search: string): string | undefined {
  const chars = Array.from(search.replace(/[A-Z]+/g, (c) => c.toLowerCase()));
  if (chars.length < 3) return undefined;
  const trigrams = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) trigrams.add(chars[i]! + chars[i + 1]! + chars[i + 2]!);
  return JSON.stringify([...trigrams]);
}

/**
 * {@link containsPattern} of `search` with A-Z lowered and no other letter, for `lower(name) LIKE`:
 * a search whatever its ASCII case, on PostgreSQL (whose LIKE is case-sensitive) as on SQLite
 * (whose LIKE folds ASCII letters, and no other). Not ILIKE, which folds letters beyond ASCII too
 * (names are ASCII; a search beyond it matches no name on either database).
 */
export function foldedPattern(search: string): string {
  return containsPattern(search.replace(/[A-Z]+/g, (c) => c.toLowerCase()));
}

/** The condition "the server's name contains `search`", ASCII case aside ({@link foldedPattern}), on either database. */
export function nameContains(search: string): SQL {
  return sql`lower(${servers.name}) LIKE ${foldedPattern(search)} ESCAPE '\\'`;
}

/**
 * Up to `limit` servers by name after `after` (exclusive), whose names contain `search` when
 * given, each with its newest version: one statement for the page. The names are read in order
 * from the primary key index and the scan stops once the page is full, so a page costs the names
 * it passes over (every name only when few or none match `search`).
 */
export function readServerPage(db: Executor, search: string | undefined, after: string | undefined, limit: number): Promise<ServerPageRow[]> {
  return read(
    db,
    (s) => {
      if (!search) return s.serverPage.all(after ?? '', limit) as ServerPageRow[];
      const trigrams = searchTrigrams(search);
      return (trigrams ? s.serverPageTrigrams.all(trigrams, after ?? '', containsPattern(search), limit) : s.serverPageSearch.all(after ?? '', containsPattern(search), limit)) as ServerPageRow[];
    },
    (q) =>
      q
        .select({ name: servers.name, version: versions.version, status: versions.status, digest: versions.digest })
        .from(servers)
        .leftJoin(versions, eq(versions.id, sql`(SELECT max(l.id) FROM ${versions} l WHERE l.server = ${servers.name})`))
        .where(and(gt(servers.name, after ?? ''), search ? nameContains(search) : undefined))
        .orderBy(asc(servers.name))
        .limit(limit)
        .execute(),
    () => (search ? readPg<ServerPageRow>(db, PG.serverPageSearch, [after ?? '', foldedPattern(search), limit]) : readPg<ServerPageRow>(db, PG.serverPage, [after ?? '', limit])),
  );
}

/** A server of a page with one of its approved versions, or (id and version null) with none. */
export interface ApprovedPageRow {
  name: string;
  id: number | null;
  version: string | null;
}

/** A server of a page with its approved versions (none, or several), by version text. */
export interface ApprovedGroup {
  name: string;
  /** `stale` (only when a time was given): last changed before it, for certain (see readApprovedGroups). */
  versions: Array<{ id: number; version: string; stale?: true }>;
}

/** Whether SQLite compares `time` with texts as JavaScript does: ASCII without NUL (toISOString's, for one). */
function comparableTime(time: string): boolean {
  for (let i = 0; i < time.length; i++) {
    const c = time.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

/**
 * Up to `limit` servers by name after `after` (exclusive), whose names contain `search` when
 * given, each with its approved versions (an empty list for a server with none) by version text:
 * one statement for the page. On SQLite a row per server (the versions as one JSON array), taken
 * as it comes: no row per version made and grouped again. With `updatedSince` (an ASCII time),
 * on SQLite a version whose newest approval (else its publishing) is certainly older is marked
 * `stale`, so a listing with `updated_since` need not read its answer to leave it out; a version
 * not marked may still be older (a time stored as other than text), and is tested as before.
 */
export function readApprovedGroups(db: Executor, search: string | undefined, after: string | undefined, limit: number, updatedSince?: string): Promise<ApprovedGroup[]> {
  if (db.dialect === 'sqlite') {
    return read(
      db,
      (s) => {
        const trigrams = search ? searchTrigrams(search) : undefined;
        const since = updatedSince !== undefined && comparableTime(updatedSince) ? [updatedSince, updatedSince] : undefined;
        const names = !search ? [after ?? '', limit] : trigrams ? [trigrams, after ?? '', containsPattern(search), limit] : [after ?? '', containsPattern(search), limit];
        const statement = since
          ? !search ? s.approvedPageSince : trigrams ? s.approvedPageTrigramsSince : s.approvedPageSearchSince
          : !search ? s.approvedPage : trigrams ? s.approvedPageTrigrams : s.approvedPageSearch;
        const rows = statement.all(...(since ?? []), ...names) as Array<[string, string]>;
        return rows.map(([name, json]) => {
          const approved = JSON.parse(json) as Array<[number, string, (0 | 1)?]>;
          // By version text, as PostgreSQL's statement orders them (versions are ASCII: UTF-16 order is byte order).
          if (approved.length > 1) approved.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
          return { name, versions: approved.map(([id, version, updated]) => (updated === 0 ? { id, version, stale: true as const } : { id, version })) };
        });
      },
      () => Promise.reject(new Error('readApprovedGroups reads SQLite by its statement')),
    );
  }
  return readApprovedPage(db, search, after, limit).then((rows) => {
    const groups: ApprovedGroup[] = [];
    for (const r of rows) {
      let last = groups.at(-1);
      if (last?.name !== r.name) groups.push((last = { name: r.name, versions: [] }));
      if (r.id !== null && r.version !== null) last.versions.push({ id: r.id, version: r.version });
    }
    return groups;
  });
}

/**
 * The approved versions of up to `limit` servers by name after `after` (exclusive), whose names
 * contain `search` when given: one row per approved version, one with null id and version for a
 * server that has none, by name then version text. One statement for the page.
 */
export function readApprovedPage(db: Executor, search: string | undefined, after: string | undefined, limit: number): Promise<ApprovedPageRow[]> {
  if (db.dialect === 'sqlite') {
    return readApprovedGroups(db, search, after, limit).then((groups) =>
      groups.flatMap(({ name, versions }): ApprovedPageRow[] => (versions.length === 0 ? [{ name, id: null, version: null }] : versions.map((v) => ({ name, id: v.id, version: v.version })))),
    );
  }
  return read(
    db,
    () => [],
    (q) => {
      const page = q
        .select({ name: servers.name })
        .from(servers)
        .where(and(gt(servers.name, after ?? ''), search ? nameContains(search) : undefined))
        .orderBy(asc(servers.name))
        .limit(limit)
        .as('page');
      return q
        .select({ name: page.name, id: versions.id, version: versions.version })
        .from(page)
        .leftJoin(versions, and(eq(versions.server, page.name), eq(versions.status, 'approved')))
        .orderBy(asc(page.name), asc(versions.version))
        .execute();
    },
    () => (search ? readPg<ApprovedPageRow>(db, PG.approvedPageSearch, [after ?? '', foldedPattern(search), limit]) : readPg<ApprovedPageRow>(db, PG.approvedPage, [after ?? '', limit])),
  );
}
