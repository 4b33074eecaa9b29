/** Codes of the errors this package throws itself (a driver's own errors pass through). */
export type DbErrorCode = 'STORED_VALUE_INVALID';

/** A stored value that is not what was written: the read fails closed instead of answering from it. */
export class DbError extends Error {
  readonly code: DbErrorCode;
  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbError';
    this.code = code;
  }
}

/**
 * The bytes of a column written as a blob (bytea on PostgreSQL), or a `STORED_VALUE_INVALID`
 * refusal. SQLite keeps the type a value was given, so a column can hold text where bytes were
 * written (a dump restored through a tool that turned blobs to text): read as bytes it would be
 * the wrong hash, silently (drizzle's blob column makes text its UTF-8 bytes). `length`, when
 * given, is the only length a value may have (a SHA-256 hash: 32).
 * @example const hash = storedBytes(row.hash, 'log_nodes.hash', 32);
 */
export function storedBytes(value: unknown, column: string, length?: number): Buffer {
  if (!(value instanceof Uint8Array)) throw new DbError('STORED_VALUE_INVALID', `${column} holds ${value === null ? 'null' : typeof value} where bytes were written; the database was changed outside the registry`);
  if (length !== undefined && value.byteLength !== length) throw new DbError('STORED_VALUE_INVALID', `${column} holds ${value.byteLength} bytes where a ${length}-byte hash was written; the database was changed outside the registry`);
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
