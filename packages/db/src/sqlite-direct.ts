import type Database from 'better-sqlite3';
import { getTableColumns, getTableName, type Table } from 'drizzle-orm';
import { type Drizzle, type Executor, query } from './database.js';

/**
 * One statement of the publish path, as plain SQL on SQLite and through the query builder
 * elsewhere. drizzle builds a statement's SQL text anew on every call (walking the query's
 * objects, then mapping each row): in a CPU profile of a publish burst that was a fifth of the
 * registry's time, more than SQLite's own work. On SQLite `sqlite` runs on the connection, whose
 * `prepare` keeps statements compiled by their text (database.ts `withStatementCache`); it
 * runs where and when {@link query} would run the builder's statement (never inside another
 * caller's open transaction). `other` is the same statement for PostgreSQL.
 * @example const row = await direct(db, (c) => c.prepare('SELECT 1 AS one').get(), (q) => q.select(...).execute());
 */
export function direct<T>(ex: Executor, sqlite: (c: Database.Database) => T, other: (q: Drizzle) => Promise<T>): Promise<T> {
  if (ex.dialect !== 'sqlite') return query(ex, (q) => ({ execute: () => other(q) }));
  return query(ex, (q) => ({ execute: async () => sqlite((q as Drizzle & { $client: Database.Database }).$client) }));
}

const selections = new WeakMap<Table, string>();
const columnLists = new WeakMap<Table, Array<[key: string, name: string]>>();

function columnList(table: Table): Array<[key: string, name: string]> {
  let list = columnLists.get(table);
  if (!list) {
    list = Object.entries(getTableColumns(table)).map(([key, column]) => [key, column.name]);
    columnLists.set(table, list);
  }
  return list;
}

/**
 * `"column" AS "key", …` for every column of `table`: the rows drizzle's `select()` gives (each
 * column under its TypeScript key; every column here is text, integer or a buffer blob, which
 * better-sqlite3 returns as drizzle does).
 */
export function columnsOf(table: Table): string {
  let text = selections.get(table);
  if (text === undefined) {
    text = columnList(table)
      .map(([key, column]) => `"${column}" AS "${key}"`)
      .join(', ');
    selections.set(table, text);
  }
  return text;
}

/** An INSERT of the keys of `row` that are set (drizzle's insert leaves undefined ones to their defaults), and its parameters. */
export function insertOf(table: Table, row: Record<string, unknown>): { sql: string; params: unknown[] } {
  const names: string[] = [];
  const params: unknown[] = [];
  for (const [key, column] of columnList(table)) {
    const value = row[key];
    if (value === undefined) continue;
    names.push(`"${column}"`);
    params.push(value);
  }
  return { sql: `INSERT INTO "${getTableName(table)}" (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`, params };
}
