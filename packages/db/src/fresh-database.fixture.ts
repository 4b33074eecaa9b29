import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openDatabase, type OpenDatabase } from './index.js';

/**
 * For a test file: `fresh()` opens a new SQLite database file in its own temporary folder
 * (named after `prefix`); every one is closed and its folder removed after each test.
 * Call at the file's top level (it registers the afterEach).
 */
export function freshDatabases(prefix: string): () => OpenDatabase {
  const dirs: string[] = [];
  const opened: OpenDatabase[] = [];
  afterEach(() => {
    opened.splice(0).forEach((o) => o.close());
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    const o = openDatabase(join(dir, 'registry.db'));
    opened.push(o);
    return o;
  };
}
