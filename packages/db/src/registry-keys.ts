import { eq } from 'drizzle-orm';
import { type Executor, query } from './database.js';
import { registryKeys } from './schema.js';

/** What a registry key is used for: the signed status, or the transparency log's checkpoints. */
export type RegistryKeyUse = 'status' | 'log';

/** The key every instance on this database must sign with for one use. */
export interface RegistryKeyRow {
  use: RegistryKeyUse;
  fingerprint: string;
  publicKey: string;
  recordedAt: string;
  /** The fingerprint of the key this one replaced (a deliberate rotation), or null. */
  replaces: string | null;
}

/** The recorded key for `use`, or undefined before the first instance recorded one. */
export async function registryKey(ex: Executor, use: RegistryKeyUse): Promise<RegistryKeyRow | undefined> {
  const row = (await query(ex, (q) => q.select().from(registryKeys).where(eq(registryKeys.use, use)).limit(1)))[0];
  return row && { ...row, use: row.use as RegistryKeyUse };
}

/**
 * Records the key for `use`: the first, or the one that replaces the recorded one. Call it in
 * the write transaction that read the recorded key, so two instances cannot both record theirs.
 */
export async function recordRegistryKey(tx: Executor, row: RegistryKeyRow): Promise<void> {
  const { fingerprint, publicKey, recordedAt, replaces } = row;
  await query(tx, (q) => q.insert(registryKeys).values(row).onConflictDoUpdate({ target: registryKeys.use, set: { fingerprint, publicKey, recordedAt, replaces } }));
}
