import { getTableColumns, is, sql, SQL } from 'drizzle-orm';
import { bigint, customType, foreignKey, index, pgTable, type PgColumnBuilderBase, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { getTableConfig, type SQLiteColumn, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as sqlite from './schema.js';

/**
 * The PostgreSQL schema, derived from the one in schema.ts (the single source: the query
 * functions run those same table objects on both dialects). Only what drizzle-kit needs to write
 * the PostgreSQL migrations is mapped: TEXT stays text, INTEGER becomes bigint (an autoincrement
 * key an identity column that still takes an explicit value, as the audit chain's `seq` does),
 * BLOB becomes bytea; not-null, defaults, primary keys, foreign keys and (expression) indexes
 * follow. A column type this does not know fails loudly here, not in a migration.
 */
const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

function column(c: SQLiteColumn): PgColumnBuilderBase {
  const type = c.getSQLType();
  let b;
  if (type === 'text') b = text(c.name);
  else if (type === 'integer') b = c.primary && (c as unknown as { autoIncrement?: boolean }).autoIncrement ? bigint(c.name, { mode: 'number' }).generatedByDefaultAsIdentity() : bigint(c.name, { mode: 'number' });
  else if (type === 'blob') b = bytea(c.name);
  else throw new Error(`schema-pg: no PostgreSQL type for the SQLite column ${c.name} (${type})`);
  if (c.primary) b = b.primaryKey();
  if (c.notNull && !c.primary) b = b.notNull();
  if (c.hasDefault && c.default !== undefined && !is(c.default, SQL)) b = b.default(c.default as never);
  return b;
}

/**
 * Expression index columns PostgreSQL needs written otherwise, by index name. A range over text
 * (versions_status_server_idx: a namespace's names, `ns/` up to `ns0`) holds only in byte order;
 * PostgreSQL orders text by the database's collation, where punctuation may weigh nothing
 * (en_US), so that index and its query say COLLATE "C". SQLite compares text bytewise already.
 */
const PG_INDEX_EXPRESSIONS: Record<string, (t: Record<string, never>) => unknown[]> = {
  versions_status_server_idx: (t) => [t.status, sql`lower(${t.server}) COLLATE "C"`],
};

const converted = new Map<string, ReturnType<typeof pgTable>>();
function convert(table: SQLiteTable) {
  const config = getTableConfig(table);
  const columns = Object.fromEntries(Object.entries(getTableColumns(table)).map(([key, c]) => [key, column(c as SQLiteColumn)]));
  const keyOf = new Map(Object.entries(getTableColumns(table)).map(([key, c]) => [c.name, key]));
  const pg = pgTable(config.name, columns, (t) => {
    const col = (c: { name: string }) => (t as Record<string, never>)[keyOf.get(c.name)!];
    const extras: unknown[] = [];
    for (const pk of config.primaryKeys) extras.push(primaryKey({ columns: pk.columns.map(col) as never }));
    for (const i of config.indexes) {
      const on = PG_INDEX_EXPRESSIONS[i.config.name]?.(t as Record<string, never>) ?? i.config.columns.map((c) => (is(c, SQL) ? c : col(c as { name: string })));
      extras.push((i.config.unique ? uniqueIndex(i.config.name) : index(i.config.name)).on(...(on as [never])));
    }
    for (const fk of config.foreignKeys) {
      const ref = fk.reference();
      const target = converted.get(getTableConfig(ref.foreignTable).name)!;
      const targetCols = getTableColumns(target) as Record<string, never>;
      const targetKey = new Map(Object.entries(getTableColumns(ref.foreignTable)).map(([key, c]) => [c.name, key]));
      let f = foreignKey({ columns: ref.columns.map(col) as never, foreignColumns: ref.foreignColumns.map((c) => targetCols[targetKey.get(c.name)!]) as never, name: fk.getName() });
      if (fk.onDelete) f = f.onDelete(fk.onDelete);
      extras.push(f);
    }
    return extras as never;
  });
  converted.set(config.name, pg);
  return pg;
}

// In dependency order: a table's foreign keys name tables converted before it.
export const principals = convert(sqlite.principals);
export const tokens = convert(sqlite.tokens);
export const allowlist = convert(sqlite.allowlist);
export const allowlistSigners = convert(sqlite.allowlistSigners);
export const allowlistBuilders = convert(sqlite.allowlistBuilders);
export const reviewers = convert(sqlite.reviewers);
export const certificateAuthorities = convert(sqlite.certificateAuthorities);
export const servers = convert(sqlite.servers);
export const versions = convert(sqlite.versions);
export const approvals = convert(sqlite.approvals);
export const versionTools = convert(sqlite.versionTools);
export const tombstones = convert(sqlite.tombstones);
export const auditEvents = convert(sqlite.auditEvents);
export const logEntries = convert(sqlite.logEntries);
export const logNodes = convert(sqlite.logNodes);
export const logCheckpoints = convert(sqlite.logCheckpoints);
export const registryKeys = convert(sqlite.registryKeys);
