import { randomBytes } from 'node:crypto';
// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { promises as fsp } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { canonicalJson, compareVersions, digestHex, manifestDigest, MAX_STATUS_REFS, nameKey, VersionRecord, type Digest, type LogProofEntry, type LogProofsResponse, type Manifest, type StatusPredicate } from '@sigil/manifest';
import { DeferredSignatures, VerificationCache } from '@sigil/signing/verify';
import { checkStoredProof, CheckpointStore } from './checkpoint-store.js';
import { ResolveError, type Refusal } from './errors.js';
import { STORE_DIR_MODE, STORE_FILE_MODE, StoreGuard } from './store-safety.js';
import { checkLogged, fetchConsistency, fetchLogProofs, pinnedLogs, settleLogView, type LogCheckpoint, type LogView } from './log-check.js';
import { lockedEntry, readBoundedTextSync, readLockfile, writeJsonAtomic, writeLockfile, writeTextAtomic, type LockEntry, type Lockfile } from './lockfile.js';
import { fetchRecords, fetchServer, fetchStatus, newestApproved, publicView, type RegistryOptions, type ResolvedServer } from './resolve.js';
import { checkStatusFloor, judgeStatus, verifyStatus, verifyStatusSignature, type VerifiedStatus } from './status.js';
import { withStoreLock } from './store-lock.js';
import { recordTexts, verifyVersion, type VerifiedVersion } from './verify-version.js';

const MAX_RECORD_BYTES = 4 * 1024 * 1024;
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
/** Most persisted signature verifications kept (each is re-checked on use, see VerificationCache). */
const MAX_VERIFIED_ENTRIES = 4096;

export interface HostTrustStoreOptions extends RegistryOptions {
  /** The lockfile; the store's files live beside it. */
  lockfile: string;
  /** Where records, the last status and the verification cache are kept (default `.sigil-cache/` beside the lockfile). */
  cacheDir?: string;
  /** Receives the one warning line printed when a network failure falls back to the stored status. */
  onWarning?: (line: string) => void;
  /**
   * This host's key for sealing the signature results and manifest checks it keeps
   * (`userSealKey({ scope })` gives the user's own, scoped by the host's build). With it, what is
   * sealed under it is used without checking it again, and anything else is verified in full;
   * without it, every kept signature result is re-checked and every manifest checked.
   */
  sealKey?: Uint8Array;
}

/** The outcome of a resolution: only verified servers, and where the signed status came from. */
export interface Resolution {
  servers: ResolvedServer[];
  /** `registry`: a fresh answer to our nonce; `offline`: the stored status, asked for; `fallback`: the stored status after a network failure (opt-in). */
  statusSource: 'registry' | 'offline' | 'fallback';
  /** Issue time of the signed status the resolution was judged against (absent when nothing is locked). */
  statusIssuedAt?: string;
}

/** One server pinned by `lock` or `update`, with what it replaced. */
export interface LockChange extends ResolvedServer {
  /** The version locked before, when it changed. */
  previous?: string;
  /** The manifest locked before, when the store still holds its record (for the tool diff). */
  previousManifest?: Manifest;
}

/**
 * The host's trust state, shaped like a TUF client's trusted metadata store: it owns the lockfile,
 * the signed status and the version records, and every change to them goes through one method
 * that verifies first and writes after. Only signed bytes are kept (records as received, the
 * last status bundle), and each is verified again when loaded: manifest digests recomputed
 * against the lock, the status signature checked against the pinned key. The stored status is
 * also the replay floor: a status issued before it is refused. A cache of signature results may
 * save crypto, but a miss only costs time, and a hit re-checks the signature unless it is sealed
 * under this host's own key (`sealKey`).
 * @example
 * const store = new HostTrustStore({ policy: await loadPolicy('sigil.policy.json'), lockfile: 'sigil.lock.json' });
 * await store.lock([{ name: 'io.github.acme/weather', version: '1.2.0' }]);
 * const { servers } = await store.resolve();
 */
export class HostTrustStore {
  readonly lockfile: string;
  readonly cacheDir: string;
  private readonly cache: VerificationCache;
  private cacheLoaded = false;
  /** The stored log checkpoint and per-version log proofs (used when the pinned trusted root lists a log). */
  readonly log: CheckpointStore;
  /** Mode and owner checks of the store's directories and files before they are read (`STORE_UNSAFE`). */
  private readonly guard: StoreGuard;

  constructor(readonly options: HostTrustStoreOptions) {
    this.lockfile = options.lockfile;
    this.cacheDir = options.cacheDir ?? join(dirname(options.lockfile), '.sigil-cache');
    this.cache = new VerificationCache({ maxEntries: MAX_VERIFIED_ENTRIES, ...(options.sealKey ? { sealKey: options.sealKey } : {}) });
    this.guard = new StoreGuard(this.cacheDir);
    this.log = new CheckpointStore(this.cacheDir, this.guard);
  }

  /** Path of the stored status bundle. */
  get statusPath(): string {
    return join(this.cacheDir, 'status.json');
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /**
   * Verifies every locked server (or `names`) and returns them, or throws one `ResolveError`
   * listing every refusal. Online: a fresh status for the whole lock (with our nonce, not older
   * than the stored one) and each record. `offline`: the stored status within
   * `maxStatusAgeSeconds` and the stored records. A network failure (never an HTTP answer) falls
   * back to the stored status only when the policy opts in with `offline.maxStatusAgeSeconds`,
   * within that shorter age, with one warning line.
   */
  async resolve(request: { names?: readonly string[]; offline?: boolean } = {}): Promise<Resolution> {
    const lock = await readLockfile(this.lockfile);
    const names = request.names ?? Object.keys(lock.servers).sort();
    for (const name of names) if (!lockedEntry(lock, name)) throw ResolveError.of(name, 'NOT_LOCKED', `${name} is not in the lockfile ${this.lockfile}`);
    if (names.length === 0) return { servers: [], statusSource: request.offline ? 'offline' : 'registry' };
    const floor = await this.storedStatus();
    const logs = pinnedLogs(this.options.policy);
    const logFloor = logs.length ? await this.log.checkpoint(logs) : undefined;
    if (request.offline) return this.fromStore(lock, names, floor, this.options.policy.maxStatusAgeMs, 'offline', undefined, logFloor);

    // The status asked for covers the whole lock, so the stored copy serves any later offline start.
    const allRefs = coveredRefs(Object.entries(lock.servers).map(([n, e]) => `${n}@${e.version}`));
    const refs = names.map((n) => `${n}@${lock.servers[n]!.version}`);
    const nonce = randomBytes(18).toString('base64url');
    let bundle: unknown;
    let records: Array<string | ResolveError>;
    let logAnswers: LogProofsResponse[] | undefined;
    const fetchingStatus = fetchStatus(this.options, allRefs, nonce);
    const fallbackMs = this.options.policy.offlineFallbackMaxAgeMs;
    try {
      [bundle, records, logAnswers] = await Promise.all([
        fetchingStatus,
        fetchRecords(this.options, names.map((n) => ({ name: n, version: lock.servers[n]!.version }))),
        logs.length ? fetchLogProofs(this.options, refs) : undefined,
      ]);
      // fetchRecords gives each failure in place: records not reached on the network (and no record
      // refused by an answer, which never falls back) are the fallback's case as much as log proofs
      // not reached, the status having been answered.
      if (fallbackMs !== undefined) {
        const failures = records.filter((r): r is ResolveError => r instanceof ResolveError);
        if (failures.length > 0 && failures.every((r) => r.code === 'REGISTRY_UNREACHABLE')) throw failures[0]!;
      }
    } catch (e) {
      // Only a failure to reach the registry at all may fall back, and only by the host's choice.
      if (!(e instanceof ResolveError) || e.code !== 'REGISTRY_UNREACHABLE' || fallbackMs === undefined) throw e;
      // The failure may have been another request's (the records, the log proofs): a status the
      // registry did answer is verified and judged against, never set aside for the older stored one
      // (it may revoke what the stored one approved). Only the records and log proofs come from the
      // store. A status refused by an HTTP answer (401, 429, 5xx) keeps its own code, whichever
      // failed first.
      const fresh = await fetchingStatus.then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      );
      if ('error' in fresh) {
        if (!(fresh.error instanceof ResolveError) || fresh.error.code !== 'REGISTRY_UNREACHABLE') throw fresh.error;
        return this.fromStore(lock, names, floor, fallbackMs, 'fallback', fresh.error.message, logFloor);
      }
      await this.loadCache();
      const status = verifyStatus(fresh.answer, this.options.policy, { now: this.now(), nonce, lastIssuedAt: floor?.issuedAt, lastAudit: floor?.audit, cache: this.cache });
      let served: Resolution;
      try {
        served = await this.fromStore(lock, names, status.predicate, fallbackMs, 'fallback', e.message, logFloor);
      } catch (refusal) {
        await this.keepRefusingStatus(fresh.answer, status, lock);
        throw refusal;
      }
      // Accepted or not, this host has now seen the fresh status: it is stored as on the online
      // path, so no later start (`--offline`, the fallback) of another locked server goes on
      // under the older stored one (a revocation it carries would otherwise be set aside there).
      // A newer one another process stored meanwhile is judged against instead.
      let newer: StatusPredicate | undefined;
      try {
        newer = await this.advanceStatus(fresh.answer, status.predicate, this.coveringLock(status));
      } catch (stored) {
        if (!(stored instanceof LockMoved)) throw stored;
      }
      await this.saveCache();
      return newer ? this.fromStore(lock, names, newer, fallbackMs, 'fallback', e.message, logFloor) : served;
    }
    await this.loadCache();
    const status = verifyStatus(bundle, this.options.policy, { now: this.now(), nonce, lastIssuedAt: floor?.issuedAt, lastAudit: floor?.audit, cache: this.cache });
    const log = logAnswers ? await settleLogView(this.options, logs, refs, logAnswers, logFloor) : undefined;
    const proofs = new Map<string, LogProofEntry[]>();
    const logCheck = log && ((v: VerifiedVersion) => void proofs.set(v.name, checkLogged(v, log.entries.get(`${v.name}@${v.version}`) ?? [], log.checkpoint.verified.checkpoint, log.checkpoint.log.logId)));
    let verified: ResolvedServer[];
    try {
      verified = await this.judge(lock, names, records, status, logCheck);
    } catch (refusal) {
      await this.keepRefusingStatus(bundle, status, lock);
      throw refusal;
    }
    // judge() returned every name, in order, or threw: each record text verified.
    await Promise.all(verified.map((v, i) => this.writeRecordText(v.digest, records[i] as string)));
    if (log) await this.writeLog(log, verified, proofs);
    // Another process of this host stored a newer status meanwhile: this answer is older than the
    // floor now, so the same records are judged again against that one (a revocation it carries
    // refuses them), never served on the older answer.
    let newer: StatusPredicate | undefined;
    try {
      newer = await this.advanceStatus(bundle, status.predicate, this.coveringLock(status));
    } catch (e) {
      // Another lock of this host moved the lockfile past what this status covers: it is not
      // stored (that lock stored its own), and this answer stands for the lock this run read.
      if (!(e instanceof LockMoved)) throw e;
    }
    if (newer) verified = await this.judge(lock, names, records, judgeStatus(newer, this.options.policy, { now: this.now() }), logCheck);
    await this.saveCache();
    return { servers: verified, statusSource: 'registry', statusIssuedAt: (newer ?? status.predicate).issuedAt };
  }

  /**
   * Pins exact versions after full verification against a fresh status (which then becomes the
   * stored status, covering the whole new lock). A lower version than the one locked is
   * `ROLLBACK` unless `allowDowngrade`.
   */
  async lock(wanted: ReadonlyArray<{ name: string; version: string }>, options: { allowDowngrade?: boolean } = {}): Promise<LockChange[]> {
    return this.pin(wanted, options.allowDowngrade ?? false, undefined);
  }

  /**
   * Moves locked servers to their newest approved version. The target comes from the server
   * listing and must agree with the newest approved version the signed status states for each
   * server: a listing that hides a newer version is `FREEZE_SUSPECTED` (TUF 5.5's freeze attack,
   * caught by the signed statement rather than by an unsigned listing).
   */
  async update(names: readonly string[], options: { allowDowngrade?: boolean } = {}): Promise<LockChange[]> {
    const lock = await readLockfile(this.lockfile, { allowMissing: true });
    const wanted: Array<{ name: string; version: string }> = [];
    const listed = new Map<string, string>();
    for (const name of names) {
      if (!lockedEntry(lock, name)) throw ResolveError.of(name, 'NOT_LOCKED', `${name} is not in ${this.lockfile}; pin it first with a version`);
      const newest = newestApproved(await fetchServer(this.options, name));
      if (!newest) throw ResolveError.of(name, 'NOT_APPROVED', `the registry lists no approved version of ${name}`);
      listed.set(name, newest);
      wanted.push({ name, version: newest });
    }
    return this.pin(wanted, options.allowDowngrade ?? false, listed);
  }

  private async pin(wanted: ReadonlyArray<{ name: string; version: string }>, allowDowngrade: boolean, listed: Map<string, string> | undefined): Promise<LockChange[]> {
    const lock = await readLockfile(this.lockfile, { allowMissing: true });
    const readAtStart = lockedVersions(lock);
    // Case does not distinguish server names: a pin asked under another spelling of a locked name
    // is that name's (its rollback rule, its pinned signer), and replaces its entry.
    const spelling = new Map(Object.keys(lock.servers).map((n) => [nameKey(n), n]));
    const lockedName = (name: string): string => spelling.get(nameKey(name)) ?? name;
    const lockedAs = (name: string): LockEntry | undefined => lockedEntry(lock, lockedName(name));
    for (const { name, version } of wanted) {
      const locked = lockedAs(name);
      // TUF 5.3.5-style rollback rule, applied to the host's own pin: never move backwards unasked.
      if (locked && compareVersions(version, locked.version) < 0 && !allowDowngrade) {
        throw ResolveError.of(name, 'ROLLBACK', `${name}@${version} is lower than the locked ${locked.version}; allow a downgrade explicitly if you mean it (sigil lock --allow-downgrade, or allowDowngrade: true)`);
      }
    }
    const floor = await this.storedStatus();
    const next = new Map(Object.entries(lock.servers).map(([n, e]) => [n, e.version]));
    for (const w of wanted) {
      next.delete(lockedName(w.name));
      next.set(w.name, w.version);
    }
    const refs = coveredRefs([...next].map(([n, v]) => `${n}@${v}`));
    const logs = pinnedLogs(this.options.policy);
    const logFloor = logs.length ? await this.log.checkpoint(logs) : undefined;
    const wantedRefs = wanted.map((w) => `${w.name}@${w.version}`);
    const nonce = randomBytes(18).toString('base64url');
    const [bundle, records, logAnswers] = await Promise.all([fetchStatus(this.options, refs, nonce), fetchRecords(this.options, wanted), logs.length && wantedRefs.length ? fetchLogProofs(this.options, wantedRefs) : undefined]);
    await this.loadCache();
    const status = verifyStatus(bundle, this.options.policy, { now: this.now(), nonce, lastIssuedAt: floor?.issuedAt, lastAudit: floor?.audit, cache: this.cache });
    const log = logAnswers ? await settleLogView(this.options, logs, wantedRefs, logAnswers, logFloor) : undefined;
    const proofs = new Map<string, LogProofEntry[]>();
    const refusals: Refusal[] = [];
    const accepted: Array<{ verified: VerifiedVersion; text: string }> = [];
    wanted.forEach(({ name, version }, i) => {
      const text = records[i]!;
      if (text instanceof ResolveError) return void refusals.push(...text.refusals);
      const ref = `${name}@${version}`;
      const entry = status.entries.get(ref);
      if (listed) {
        const signed = entry?.newestApproved;
        if (signed !== listed.get(name)) {
          return void refusals.push({
            name,
            code: 'FREEZE_SUSPECTED',
            message: `the server listing names ${listed.get(name)} as the newest approved version of ${name}, but the registry's signed status says ${signed ?? 'none'}: the listing may be hiding a version`,
            details: { listed: listed.get(name), signed: signed ?? null },
          });
        }
      }
      const locked = lockedAs(name);
      const same = locked !== undefined && locked.version === version;
      try {
        // The same version again: the pin stands as it was (its digest, and its signer: another
        // key the policy allows does not take it over unseen).
        const v = verifyVersion(name, version, JSON.parse(text), this.options.policy, entry, same ? { digest: locked.digest, signer: locked.signer } : {}, this.cache);
        if (log) proofs.set(name, checkLogged(v, log.entries.get(ref) ?? [], log.checkpoint.verified.checkpoint, log.checkpoint.log.logId));
        accepted.push({ verified: v, text });
      } catch (e) {
        refusals.push(...asRefusals(name, e));
      }
    });
    if (refusals.length) {
      await this.keepRefusingStatus(bundle, status, lock);
      throw new ResolveError(refusals);
    }

    const changes: LockChange[] = [];
    for (const { verified, text } of accepted) {
      const spelt = lockedName(verified.name);
      const locked = lockedEntry(lock, spelt);
      const change: LockChange = publicView(verified);
      if (locked && locked.version !== verified.version) {
        change.previous = locked.version;
        const before = await this.storedManifest(locked.digest);
        if (before) change.previousManifest = before;
      }
      const entry: LockEntry = { version: verified.version, digest: verified.digest, toolsDigest: verified.toolsDigest, signer: verified.signer, approvals: [...verified.approvals].sort() };
      if (spelt !== verified.name) delete lock.servers[spelt];
      lock.servers[verified.name] = entry;
      await this.writeRecordText(verified.digest, text);
      changes.push(change);
    }
    // Records first (and the log checkpoint before the proofs, which are never for a newer tree
    // than it), then the lock, then the status that covers it: `resolve --offline` right after
    // finds everything it needs, and a crash in between leaves the old lock valid. The lock is
    // written only once the status is known not to move the floor back (advanceStatus).
    if (log) await this.writeLog(log, accepted.map((a) => a.verified), proofs);
    const newer = await this.advanceStatus(bundle, status.predicate, async () => {
      // Another run of this host (a second terminal, a CI job) may have written the lockfile since
      // it was read above: writing ours would silently undo its pins (a rollback nobody asked for).
      // Under status.lock, where every lock write happens, it is read again and must be as read;
      // otherwise nothing is written (nor the status, which covers this run's view only) and the
      // caller runs again on the new lock. Merging is not done: the status stored with the lock
      // must cover every locked version, and this run's status covers only what it read.
      const now = lockedVersions(await readLockfile(this.lockfile, { allowMissing: true }));
      if (now !== readAtStart) {
        throw ResolveError.of('', 'LOCKFILE_CHANGED', `${this.lockfile} changed while this run verified its pins (another lock of this host wrote it): nothing was written; run the command again on the new lock`, { lockfile: this.lockfile });
      }
      await writeLockfile(this.lockfile, lock);
    });
    if (newer) {
      throw ResolveError.of('', 'STATUS_STALE', `another process of this host stored a signed status issued at ${newer.issuedAt}, after the one this lock was verified against (${status.predicate.issuedAt}): the lockfile is unchanged; run the command again`, { check: 'replay-floor', floor: newer.issuedAt });
    }
    await this.saveCache();
    return changes;
  }

  /**
   * Stores `bundle`, a status verified fresh (signature, nonce, freshness, replay floor) whose
   * judgement then refused something (a revocation, say), when it covers every version `lock`
   * pins: this host has seen it, so no later start (offline, the opt-in fallback, `sigil run
   * --offline`) may go on under the older stored status it replaces. A status that does not cover
   * the lock as it stands (a `lock --update` refused before the lock moved to the versions it was
   * asked about) is not stored: offline starts of that lock need a status that covers it. A
   * failure to store leaves the refusal as it is.
   */
  private async keepRefusingStatus(bundle: unknown, status: VerifiedStatus, lock: Lockfile): Promise<void> {
    if (!covers(status, lock)) return;
    try {
      await this.advanceStatus(bundle, status.predicate, this.coveringLock(status));
    } catch {
      // The refusal the caller throws is the answer; the floor stays where it was.
    }
  }

  /**
   * For advanceStatus, under `status.lock` where every lockfile write happens: the lockfile read
   * again must still be covered by `status`, else `LockMoved` and nothing is stored. Another lock
   * of this host may have moved it since this run read it, and stored the status that covers it;
   * a status of the older lock stored over that one would leave the lockfile without one.
   */
  private coveringLock(status: VerifiedStatus): () => Promise<void> {
    return async () => {
      if (!covers(status, await readLockfile(this.lockfile, { allowMissing: true }))) throw new LockMoved();
    };
  }

  /** Judges the stored status (`floor`, verified when loaded) and records, as `--offline` or as the opt-in fallback. */
  private async fromStore(
    lock: Lockfile,
    names: readonly string[],
    floor: StatusPredicate | undefined,
    maxAgeMs: number,
    source: 'offline' | 'fallback',
    reason: string | undefined,
    logFloor: LogCheckpoint | undefined,
  ): Promise<Resolution> {
    // The stored status was read and its signature verified once, as the replay floor
    // (storedStatus): the same predicate is judged here for its age.
    if (floor === undefined) {
      throw ResolveError.of('', 'REGISTRY_UNREACHABLE', `${reason ? `${reason}; ` : ''}the store holds no signed status to verify offline: run \`sigil resolve\` or \`sigil lock\` once with the registry reachable`);
    }
    await this.loadCache();
    const status = judgeStatus(floor, this.options.policy, { now: this.now(), maxAgeMs });
    if (source === 'fallback') {
      const age = Math.max(0, Math.round((this.now().getTime() - Date.parse(status.predicate.issuedAt)) / 1000));
      this.options.onWarning?.(
        `WARNING: the registry is unreachable (${reason ?? 'network failure'}); using the stored records and the signed status issued at ${status.predicate.issuedAt}, ${age} s old (the policy accepts up to ${maxAgeMs / 1000} s offline): a revocation since then is not seen`,
      );
    }
    // The log, offline: the stored checkpoint (verified on load) and each version's stored proofs.
    const logs = pinnedLogs(this.options.policy);
    if (logs.length && !logFloor) {
      throw ResolveError.of('', 'REGISTRY_UNREACHABLE', `${reason ? `${reason}; ` : ''}the store holds no log checkpoint to verify offline: run \`sigil resolve\` or \`sigil lock\` once with the registry reachable`);
    }
    const proofTexts = logs.length ? await Promise.all(names.map((name) => this.log.proofText(lock.servers[name]!.digest))) : undefined;
    let logCheck: ((v: VerifiedVersion, i: number) => void) | undefined;
    if (logFloor && proofTexts) {
      const opened = new Map<string, LogCheckpoint>();
      logCheck = (v, i) => checkStoredProof(v, proofTexts[i], logFloor, logs, opened);
    }
    // Each record is read as its server is judged, not all of them first: a text is garbage once
    // judged, so a start with many servers never holds every record at once, and the young
    // generation's collections copy less (100 servers: 0.5 MB of record texts). A server judged
    // again (its deferred checks failed) reads its record again and is verified in full.
    const verified = await this.judge(lock, names, (i) => this.storedRecord(lock, names[i]!), status, logCheck);
    await this.saveCache();
    return { servers: verified, statusSource: source, statusIssuedAt: status.predicate.issuedAt };
  }

  /**
   * Full verification of each record against the policy, the lock and the signed status. The
   * signature checks of kept results (two per server) are collected while the servers are judged
   * (`DeferredSignatures`, one per server) and run together after, half of them on the thread
   * pool; each server's outcome stands only once its checks verified, and a server with a failed
   * one is verified again from the start without deferral, so every outcome is the one a
   * synchronous verification gives.
   */
  private async judge(lock: Lockfile, names: readonly string[], records: ReadonlyArray<string | ResolveError> | ((i: number) => string | ResolveError), status: VerifiedStatus, logCheck?: (v: VerifiedVersion, i: number) => void): Promise<ResolvedServer[]> {
    const record = typeof records === 'function' ? records : (i: number) => records[i]!;
    // A function reads the store's records (fromStore); an array holds the registry's answers.
    const stored = typeof records === 'function';
    const deferred = names.map(() => new DeferredSignatures());
    const outcomes = names.map((name, i) => this.judgeOne(lock, name, i, record(i), status, logCheck, deferred[i], stored));
    const settled = await Promise.all(deferred.map((d) => d.settle()));
    const refusals: Refusal[] = [];
    const verified: ResolvedServer[] = [];
    names.forEach((name, i) => {
      const outcome = settled[i] ? outcomes[i]! : this.judgeOne(lock, name, i, record(i), status, logCheck, undefined, stored);
      if (isRefusals(outcome)) refusals.push(...outcome);
      else verified.push(outcome);
    });
    if (refusals.length) throw new ResolveError(refusals);
    return verified;
  }

  /**
   * One server of {@link judge}: its verified version, or its refusals. A `stored` record is the
   * store's copy, verified before it was stored: one that is no JSON, no record, or the record of
   * another server or version is the store's fault, not an answer of the registry's, so it is
   * `STORE_INVALID` naming the file (see {@link storeFault}).
   */
  private judgeOne(lock: Lockfile, name: string, i: number, text: string | ResolveError, status: VerifiedStatus, logCheck: ((v: VerifiedVersion, i: number) => void) | undefined, deferred: DeferredSignatures | undefined, stored = false): ResolvedServer | readonly Refusal[] {
    const entry = lock.servers[name]!;
    if (text instanceof ResolveError) return text.refusals;
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw ResolveError.of(name, 'RESPONSE_INVALID', `the record of ${name}@${entry.version} is not JSON`, undefined, e);
      }
      const v = verifyVersion(name, entry.version, raw, this.options.policy, status.entries.get(`${name}@${entry.version}`), { digest: entry.digest, signer: entry.signer, approvals: entry.approvals }, this.cache, recordTexts(text, name, entry.toolsDigest), deferred);
      if (v.toolsDigest !== entry.toolsDigest) throw ResolveError.of(name, 'DIGEST_MISMATCH', `the tools-set digest ${v.toolsDigest} differs from the lock's ${entry.toolsDigest}`);
      logCheck?.(v, i);
      // What the resolution returns, without the parsed record (its bundles and statements): nothing
      // after the log check reads it, and a start judging many servers then keeps none of them
      // alive through its young-generation collections.
      return publicView(v);
    } catch (e) {
      const refusals = asRefusals(name, e);
      return stored ? refusals.map((r) => this.storeFault(r, entry)) : refusals;
    }
  }

  /**
   * A refusal of a stored record in the store's words: what reads as a wrong answer of the
   * registry's (`RESPONSE_INVALID`: not JSON, no record, a malformed one; `NAME_MISMATCH`: another
   * server's or version's) cannot be one offline. The record was verified before it was stored, so
   * the file was changed since (truncated, swapped): `STORE_INVALID`, naming the file. Every other
   * refusal (an edited manifest's `DIGEST_MISMATCH`, a re-signed one's `SIGNER_UNTRUSTED`, a
   * revocation) keeps its code.
   */
  private storeFault(refusal: Refusal, entry: LockEntry): Refusal {
    if (refusal.code !== 'RESPONSE_INVALID' && refusal.code !== 'NAME_MISMATCH') return refusal;
    return { ...refusal, code: 'STORE_INVALID', message: `the stored record ${this.recordPath(entry.digest)} of ${refusal.name}@${entry.version} is not the record this host stored (${refusal.message}): remove it and resolve once with the registry reachable` };
  }

  /**
   * The stored status, verified against the pinned status key whatever its age: the replay floor.
   * Absent: no floor yet. Present but not verifiable: `STORE_INVALID`, never silently reset.
   */
  async storedStatus(): Promise<StatusPredicate | undefined> {
    const stored = await this.readStatusBundle();
    if (stored === undefined) return undefined;
    // With the kept signature results: a result this host sealed for these very bytes under this
    // very key stands for the signature check (VerificationCache), as for every other bundle.
    await this.loadCache();
    try {
      return verifyStatusSignature(stored.json, this.options.policy, this.cache, stored.text);
    } catch (e) {
      throw ResolveError.of(
        '',
        'STORE_INVALID',
        `the stored status ${this.statusPath} does not verify under the policy's status key (${(e as Error).message}); it is this host's replay floor, so it is not discarded silently: if the registry key was rotated on purpose, remove the file`,
        undefined,
        e,
      );
    }
  }

  private async readStatusBundle(): Promise<{ text: string; json: unknown } | undefined> {
    // The first read of every operation: the store's directories are checked here, all of them,
    // so a lock that only writes records/ later does not write into a directory others can change.
    this.guard.dirs(join(this.cacheDir, 'records'), join(this.cacheDir, 'proofs'));
    let text: string;
    try {
      text = readBoundedTextSync(this.statusPath, MAX_RECORD_BYTES, this.guard.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (e instanceof ResolveError) throw e;
      throw ResolveError.of('', 'STORE_INVALID', `cannot read the stored status ${this.statusPath}: ${(e as Error).message}`, undefined, e);
    }
    try {
      return { text, json: JSON.parse(text) as unknown };
    } catch (e) {
      throw ResolveError.of('', 'STORE_INVALID', `the stored status ${this.statusPath} is not JSON`, undefined, e);
    }
  }

  /**
   * The accepted checkpoint (when it moved), then each version's proofs in its tree. Another
   * process of this host (`sigil run` of another server) may have stored another checkpoint
   * meanwhile: `advance` relates the two with a consistency proof (a fork is `LOG_INCONSISTENT`)
   * and keeps the larger, so the floor never moves back and the proofs stay within it.
   */
  private async writeLog(log: LogView, verified: readonly ResolvedServer[], proofs: Map<string, LogProofEntry[]>): Promise<void> {
    const envelope = log.checkpoint.verified.envelope;
    await this.log.advance(log.checkpoint, log.floor, pinnedLogs(this.options.policy), (from, to) => fetchConsistency(this.options, from, to));
    await Promise.all(verified.map((v) => this.log.writeProof(v.digest, { checkpoint: envelope, entries: proofs.get(v.name) ?? [] })));
  }

  /**
   * Stores `bundle`, a status this process verified (`verified`, its predicate) against the floor
   * it read at start. Another process of this host (two `sigil run` started together, or another
   * worker of an embedder) may have stored another status meanwhile, so under `status.lock` the
   * stored status is read and verified again (`STORE_INVALID` when it no longer verifies: it is
   * never written over). When it was issued later than `verified`, it stays the floor, nothing is
   * written, and it is returned: the caller must not go on with its older answer. Otherwise
   * `verified` is judged against it as the replay floor (`STATUS_STALE` when its audit head is
   * behind), `alongside` (the lockfile write of `lock`) runs under the same lock, and `bundle` is
   * stored when it is newer (of the same issue time the stored one is kept: the floor is the same).
   * @returns the newer stored status, or undefined when `verified` is (or equals) the floor
   * @throws ResolveError `STATUS_STALE`, `STORE_INVALID`
   */
  async advanceStatus(bundle: unknown, verified: StatusPredicate, alongside?: () => Promise<void>): Promise<StatusPredicate | undefined> {
    return withStoreLock(this.cacheDir, 'status.lock', async () => {
      const stored = await this.storedStatus();
      if (stored !== undefined && Date.parse(stored.issuedAt) > Date.parse(verified.issuedAt)) {
        // The newer one must itself not be behind this answer's audit head (a rewritten chain).
        checkStatusFloor(stored, verified.issuedAt, verified.audit);
        return stored;
      }
      checkStatusFloor(verified, stored?.issuedAt, stored?.audit);
      await alongside?.();
      if (stored === undefined || Date.parse(verified.issuedAt) > Date.parse(stored.issuedAt)) {
        await fsp.mkdir(this.cacheDir, { recursive: true, mode: STORE_DIR_MODE });
        await writeJsonAtomic(this.statusPath, bundle, STORE_FILE_MODE);
      }
      return undefined;
    });
  }

  /** The records folder, joined once (a start names one record per locked server). */
  private get recordsDir(): string {
    return (this.recordsDirPath ??= join(this.cacheDir, 'records'));
  }
  private recordsDirPath: string | undefined;

  private recordPath(digest: Digest): string {
    // digestHex is 64 hexadecimal digits: nothing for path.join to normalise.
    return `${this.recordsDir}${sep}${digestHex(digest)}.json`;
  }

  /**
   * The stored record of `name`'s locked version, as {@link judge} takes it: its text, or the
   * refusal: `REGISTRY_UNREACHABLE` when the store holds none (nothing there, or no regular file:
   * a FIFO or a directory holds no copy), `STORE_INVALID` naming the file when a file is there but
   * cannot be read as one (larger than the bound, not UTF-8). Others able to write the store are
   * `STORE_UNSAFE`, thrown.
   */
  private storedRecord(lock: Lockfile, name: string): string | ResolveError {
    const entry = lock.servers[name]!;
    this.guard.dirs(this.recordsDir);
    const path = this.recordPath(entry.digest);
    try {
      // Synchronous: a start reads every locked record, and the thread pool's round trips cost
      // more CPU than the reads themselves (see readBoundedTextSync).
      return readBoundedTextSync(path, MAX_RECORD_BYTES, this.guard.file);
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOTREG') return ResolveError.of(name, 'REGISTRY_UNREACHABLE', `the store holds no copy of ${name}@${entry.version}: resolve once with the registry reachable`);
      return ResolveError.of(name, 'STORE_INVALID', `the stored record ${path} of ${name}@${entry.version} cannot be read (${(e as Error).message}): remove it and resolve once with the registry reachable`, undefined, e);
    }
  }

  /** The exact text of a stored record (verified again by whoever uses it); undefined when absent or unreadable, `STORE_UNSAFE` when others could have written it. */
  private async readRecordText(digest: Digest): Promise<string | undefined> {
    return this.readRecordTextSync(digest);
  }

  private readRecordTextSync(digest: Digest): string | undefined {
    this.guard.dirs(this.recordsDir);
    try {
      // Synchronous: a start reads every locked record, and the thread pool's round trips cost
      // more CPU than the reads themselves (see readBoundedTextSync).
      return readBoundedTextSync(this.recordPath(digest), MAX_RECORD_BYTES, this.guard.file);
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      return undefined;
    }
  }

  /**
   * Stores a verified record as RFC 8785 canonical JSON: its manifest's bytes are then the
   * canonical text the lock's digest is the SHA-256 of, so a start hashes them as they are
   * (recordTexts, canonicalManifestDigests) instead of serialising every manifest and bundle
   * again. Still only a copy: every load verifies it in full. A record canonical JSON cannot
   * hold (a lone surrogate in a string) is stored as received.
   */
  private async writeRecordText(digest: Digest, text: string): Promise<void> {
    let stored = text;
    try {
      stored = canonicalJson(JSON.parse(text));
    } catch {
      // kept as received: verified the same way, only without the shortcut
    }
    await fsp.mkdir(join(this.cacheDir, 'records'), { recursive: true, mode: STORE_DIR_MODE });
    await writeTextAtomic(this.recordPath(digest), stored, STORE_FILE_MODE);
  }

  /** A stored record's manifest, only if it still hashes to the digest asked for (for diffs, not trust). */
  private async storedManifest(digest: Digest): Promise<Manifest | undefined> {
    const text = await this.readRecordText(digest);
    if (text === undefined) return undefined;
    try {
      const parsed = VersionRecord.safeParse(JSON.parse(text));
      return parsed.success && manifestDigest(parsed.data.manifest) === digest ? parsed.data.manifest : undefined;
    } catch {
      return undefined;
    }
  }

  /** Loads persisted signature results (a miss, or an unreadable file, only costs time; one others could have written is `STORE_UNSAFE`, like the rest of the store). */
  private async loadCache(): Promise<void> {
    if (this.cacheLoaded) return;
    this.cacheLoaded = true;
    this.guard.dirs();
    try {
      this.cache.deserialize(readBoundedTextSync(join(this.cacheDir, 'verified.json'), MAX_CACHE_BYTES, this.guard.file));
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      // no cache yet, or unreadable: verify from scratch
    }
    // Sealed outcomes of the manifest checks: believed only under this host's seal key.
    if (!this.cache.sealed) return;
    try {
      this.cache.deserializeFacts(readBoundedTextSync(join(this.cacheDir, 'checked.json'), MAX_CACHE_BYTES, this.guard.file));
    } catch (e) {
      if (e instanceof ResolveError) throw e;
      // none yet, or unreadable: every manifest is checked
    }
  }

  private async saveCache(): Promise<void> {
    const facts = this.cache.factsAdded > 0 ? this.cache.serializeFacts() : undefined;
    if (this.cache.misses === 0 && facts === undefined) return;
    await fsp.mkdir(this.cacheDir, { recursive: true, mode: STORE_DIR_MODE });
    if (this.cache.misses > 0) await writeTextAtomic(join(this.cacheDir, 'verified.json'), this.cache.serialize(), STORE_FILE_MODE);
    if (facts !== undefined) await writeTextAtomic(join(this.cacheDir, 'checked.json'), facts, STORE_FILE_MODE);
  }

  /** Removes the stored records, log proofs, signature results and checked manifests (not the status nor the log checkpoint: they are floors). */
  async clearCache(): Promise<void> {
    await fsp.rm(join(this.cacheDir, 'records'), { recursive: true, force: true });
    await this.log.clear();
    await fsp.rm(join(this.cacheDir, 'verified.json'), { force: true });
    await fsp.rm(join(this.cacheDir, 'checked.json'), { force: true });
  }
}

/** The references one signed status covers: the whole lock, so a lock larger than one status allows is refused. */
function coveredRefs(refs: string[]): string[] {
  if (refs.length > MAX_STATUS_REFS) throw ResolveError.of('', 'LOCKFILE_INVALID', `the lock would pin ${refs.length} servers; one signed status covers at most ${MAX_STATUS_REFS}: split the host's servers across lockfiles`);
  return refs;
}

function asRefusals(name: string, e: unknown): Refusal[] {
  if (e instanceof ResolveError) return e.refusals.map((r) => ({ ...r, name: r.name || name }));
  return [{ name, code: 'SIGNATURE_INVALID', message: `verification failed: ${(e as Error).message}` }];
}

export interface ResolveOptions extends RegistryOptions {
  lockfile: string;
  /** Verify from the store only, without the network. */
  offline?: boolean;
  /** Only these names from the lock (default: all). */
  names?: readonly string[];
  cacheDir?: string;
  onWarning?: (line: string) => void;
}

/**
 * Resolves every locked server at host start-up through a {@link HostTrustStore}: the verified
 * manifests, or one `ResolveError` listing every refused server. Never a partly verified result.
 * @example
 * const policy = await loadPolicy('sigil.policy.json');
 * const servers = await resolve({ policy, lockfile: 'sigil.lock.json' });
 * // offline, from the store: await resolve({ policy, lockfile: 'sigil.lock.json', offline: true });
 */
export async function resolve(options: ResolveOptions): Promise<ResolvedServer[]> {
  const store = new HostTrustStore(options);
  return (await store.resolve({ ...(options.names ? { names: options.names } : {}), ...(options.offline ? { offline: true } : {}) })).servers;
}

/** A lock's pins as one comparable text: every server's name, version and digest, in name order. */
function lockedVersions(lock: Lockfile): string {
  return Object.keys(lock.servers)
    .sort()
    .map((name) => `${name}@${lock.servers[name]!.version}#${lock.servers[name]!.digest}`)
    .join('\n');
}

function isRefusals(outcome: ResolvedServer | readonly Refusal[]): outcome is readonly Refusal[] {
  return Array.isArray(outcome);
}

/** Thrown under `status.lock` when the lockfile no longer holds what a status covers (see `coveringLock`). */
class LockMoved extends Error {}

/** Whether `status` states an entry for every version `lock` pins. */
function covers(status: VerifiedStatus, lock: Lockfile): boolean {
  return Object.entries(lock.servers).every(([name, entry]) => status.entries.has(`${name}@${entry.version}`));
}
