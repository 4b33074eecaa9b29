import { appendAudit, type Db } from '@sigil/db';
import { nowIso, type Deps, type Principal } from '../deps.js';

/** How long after a principal's audited refusal its further refusals are counted, not written one by one. */
export const FORBIDDEN_WINDOW_MS = 60_000;
/** Most principals with refusals counted at once; past it, each refusal is written as its own row. */
const MAX_PRINCIPALS = 10_000;
/** Most distinct subjects a summary names with their counts; the rest are added up under `other`. */
const MAX_SUBJECTS = 100;

interface Window {
  /** When its audited refusal was (ms, the registry's clock). */
  opened: number;
  /** Refusals counted since, by subject. */
  counts: Map<string, number>;
  suppressed: number;
  first: string | undefined;
  last: string | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One per database (the chain is the database's), shared by every app built over it. A WeakMap
 * keeps the state out of Deps, which every caller builds.
 */
const windows = new WeakMap<Db, { byPrincipal: Map<string, Window> }>();

/**
 * Audits a refused role or namespace (403) without letting a token make the registry commit at
 * its rate: a principal's first refusal in a window of {@link FORBIDDEN_WINDOW_MS} is written at
 * once, as before (`auth.forbidden`, its details); the ones after it in that window are counted
 * by subject and written as one `auth.forbidden.repeated` row when the window closes (`count`,
 * `subjects`, the first and last time), so the trail keeps every refusal's principal, subject
 * and number, and a flood costs one durable commit per principal per window, not one per request.
 */
export async function auditForbidden(deps: Deps, principal: Principal, subject: string, details: Record<string, unknown>): Promise<void> {
  let state = windows.get(deps.db);
  if (!state) windows.set(deps.db, (state = { byPrincipal: new Map() }));
  const now = (deps.now?.() ?? new Date()).getTime();
  const open = state.byPrincipal.get(principal.name);
  if (open && now - open.opened < FORBIDDEN_WINDOW_MS) {
    // Counted before any await, so concurrent refusals cannot all pass as the window's first.
    const key = open.counts.has(subject) || open.counts.size < MAX_SUBJECTS ? subject : 'other';
    open.counts.set(key, (open.counts.get(key) ?? 0) + 1);
    open.suppressed++;
    const at = nowIso(deps);
    open.first ??= at;
    open.last = at;
    open.timer ??= setTimeout(() => void flushPrincipal(deps, principal.name, open), Math.max(0, open.opened + FORBIDDEN_WINDOW_MS - now)).unref();
    return;
  }
  if (open) await flushPrincipal(deps, principal.name, open);
  if (state.byPrincipal.size < MAX_PRINCIPALS) state.byPrincipal.set(principal.name, { opened: now, counts: new Map(), suppressed: 0, first: undefined, last: undefined, timer: undefined });
  await deps.db.transaction(async (tx) => await appendAudit(tx, { actor: principal.name, action: 'auth.forbidden', subject, details }));
}

/**
 * Writes every counted refusal now (the registry stopping, or a test): one
 * `auth.forbidden.repeated` row per principal with refusals counted since its last row.
 */
export async function flushForbidden(deps: Deps): Promise<void> {
  const state = windows.get(deps.db);
  if (!state) return;
  for (const [name, window] of [...state.byPrincipal]) await flushPrincipal(deps, name, window);
}

async function flushPrincipal(deps: Deps, name: string, window: Window): Promise<void> {
  const state = windows.get(deps.db);
  if (state?.byPrincipal.get(name) === window) state.byPrincipal.delete(name);
  if (window.timer) clearTimeout(window.timer);
  window.timer = undefined;
  if (window.suppressed === 0) return;
  const details = { count: window.suppressed, subjects: Object.fromEntries(window.counts), first: window.first, last: window.last };
  window.suppressed = 0;
  window.counts = new Map();
  try {
    await deps.db.transaction(async (tx) => await appendAudit(tx, { actor: name, action: 'auth.forbidden.repeated', subject: name, details }));
  } catch (err) {
    // From a timer, nobody waits on it: the count goes to the log rather than nowhere.
    deps.logger.error({ err, forbidden: { principal: name, ...details } }, 'the audit row of repeated refusals could not be written');
  }
}
