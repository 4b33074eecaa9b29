import { isServerName, MAX_NAME_LENGTH } from '@sigil/manifest';
import { ServiceError } from '../errors.js';

/**
 * The longest cursor the registry gives: base64url of the longest name (names are ASCII), a
 * newline and a skip of up to 9 digits (v0.1). Both listings take cursors up to this length, so a
 * cursor of theirs is never refused by their own query schema (a 200-character name gives a
 * 267-character cursor, over the 256 /v1/servers once allowed).
 */
export const MAX_CURSOR_LENGTH = Math.ceil(((MAX_NAME_LENGTH + 1 + 9) * 4) / 3);

/** An empty cursor (`?cursor=`) is no cursor: the first page, on both listings. */
export function cursorGiven(cursor: string | undefined): string | undefined {
  return cursor === undefined || cursor === '' ? undefined : cursor;
}

/**
 * A listing cursor as the registry wrote it: base64url of a server name, and for the v0.1 listing
 * a newline and how many of its versions were served. Anything else is refused: an unreadable
 * cursor read as a name sorted after every server, so a client holding a damaged or foreign
 * cursor got an empty page, the same answer as the end of the list, and stopped early.
 */
export function decodeCursor(cursor: string, withSkip: boolean): { name: string; skip: number } {
  const text = /^[A-Za-z0-9_-]*$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const [name, skip, ...rest] = text.split('\n');
  const ok = name !== undefined && isServerName(name) && rest.length === 0 && (withSkip ? skip !== undefined && /^(0|[1-9]\d{0,8})$/.test(skip) : skip === undefined);
  if (!ok) throw new ServiceError('REQUEST_INVALID', 'the cursor is not one this registry gave: pass metadata.nextCursor (or next) of the previous page exactly, or leave it out to start again');
  return { name: name!, skip: withSkip ? Number(skip) : 0 };
}
