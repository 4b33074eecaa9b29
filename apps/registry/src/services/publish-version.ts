import { allServers, appendAudit, approvedToolOwners, countPending, holdsName, insertServer, insertVersion, isTombstoned, listAllowlist, listCertificateAuthorities, nameHoldingServers, serverByFoldedName, serverByName, versionOf, versionsOf } from '@sigil/db';
import { canonicalManifest, checkManifestValue, diffDeployment, mostSpecificPattern, nameKey, refusalCode, splitServerName, type Manifest, type VersionRecord } from '@sigil/manifest';
import { SignerPolicy, SigningError, verifyManifestSubject, verifyProvenanceBundle, type VerifiedSigner } from '@sigil/signing/verify';
import { nowIso, type Deps, type LintFinding, type Principal } from '../deps.js';
import { ServiceError } from '../errors.js';
import { appendLog, bundleLogEntries, logAppended } from './append-log.js';
import { requireNamespace } from './authenticate.js';
import { trustedRootOf } from './register-ca.js';
import { identityMatches, policyIdentities, trustedCas } from './signer-spec.js';
import { versionRecord } from './views.js';

export interface PublishInput {
  manifest: unknown;
  bundle: Record<string, unknown>;
  provenance?: Record<string, unknown> | undefined;
}

/**
 * Publishes a signed manifest. Every slow or failing step runs before the write transaction
 * opens (the transaction holds the writer lock): manifest format and limits, namespace
 * allowlist, the bundle verified over this exact manifest by a signer bound to the namespace,
 * provenance, lint. Then, in one transaction: idempotency and immutability (same digest answers
 * the existing record, another digest is VERSION_EXISTS, forever), the insert and its audit event.
 */
export async function publishVersion(deps: Deps, actor: Principal, input: PublishInput): Promise<{ created: boolean; record: VersionRecord }> {
  const check = checkManifestValue(input.manifest);
  if (!check.manifest) {
    const code = refusalCode(check.findings);
    throw new ServiceError(code, `the manifest is not valid: ${check.findings[0]?.path || '/'} ${check.findings[0]?.message ?? ''}`.trim(), { findings: check.findings });
  }
  const manifest = check.manifest;
  await requireNamespace(deps, actor, manifest.name);
  // The canonical text (stored) and both digests (signed) from one serialisation of the manifest.
  const canonical = canonicalManifest(manifest);
  const digest = canonical.digest;

  // Conflicts are answered before any verification cost, and a replay of the very request too.
  const existing = await versionOf(deps.db, manifest.name, manifest.version);
  if (existing) {
    if (existing.digest !== digest) throw new ServiceError('VERSION_EXISTS', `${manifest.name}@${manifest.version} is already published with another digest (${existing.digest}); versions are immutable: publish a new version`);
    // Provenance is part of the version: none can be added later, nor other given.
    if (input.provenance !== undefined && existing.provenance !== JSON.stringify(input.provenance)) throw new ServiceError('VERSION_EXISTS', `${manifest.name}@${manifest.version} is already published ${existing.provenance === null ? 'without provenance' : 'with other provenance'}; versions are immutable: publish a new version`);
  }
  if (!existing && (await isTombstoned(deps.db, manifest.name, manifest.version))) throw new ServiceError('VERSION_EXISTS', `${manifest.name}@${manifest.version} was published before and deleted; it is never reusable`);
  // The same manifest with the same bundle: an idempotent replay, answered with the stored record.
  if (existing && existing.bundle === JSON.stringify(input.bundle)) return { created: false, record: await versionRecord(deps, existing) };

  const { signers, builders } = await namespacePolicy(deps, manifest.name);
  let signer: VerifiedSigner;
  try {
    // verifyManifestBundle with the digests computed above from this manifest.
    signer = verifyManifestSubject(input.bundle, { name: manifest.name, version: manifest.version, digest, toolsDigest: canonical.toolsDigest }, signers).signer;
  } catch (e) {
    throw signingRefusal(e, 'the manifest signature');
  }
  // The same manifest signed again (a retry that signs at every run, keyless signing always): the
  // new bundle is held to the rules of a first publish, so a bundle the namespace would refuse is
  // refused, not answered 200; the stored record, its bundle included, stays as it was.
  if (existing) return { created: false, record: await versionRecord(deps, existing) };
  if (input.provenance !== undefined) await checkProvenance(deps, input.provenance, manifest, builders);

  const lint = await lintFindings(deps, manifest, actor);
  const errors = lint.filter((f) => f.severity === 'error');
  const confusable = errors.find((f) => f.rule === 'NAME_CONFUSABLE');
  if (confusable) throw new ServiceError('NAME_CONFUSABLE', confusable.message, { findings: errors });
  if (errors.length) throw new ServiceError('LINT_BLOCKED', `the manifest has ${errors.length} blocking lint finding(s): ${errors[0]!.rule} at ${errors[0]!.path}`, { findings: lint });
  const readOnly = manifest.tools.every((t) => t.annotations?.readOnlyHint === true);
  // Other packages or remotes than the last approved version's run other code under the same tools.
  const approved = (await versionsOf(deps.db, manifest.name)).find((v) => v.status === 'approved');
  const moved = approved !== undefined && diffDeployment(JSON.parse(approved.manifest) as Manifest, manifest) !== null;
  const risk = !readOnly || moved || lint.some((f) => f.severity === 'warning') ? 'high' : 'low';

  const now = nowIso(deps);
  const { namespace } = splitServerName(manifest.name);
  const logged = bundleLogEntries('manifest', `${manifest.name}@${manifest.version}`, input.bundle, signers.publicKeys);
  const row = await deps.db.transaction(async (tx) => {
    // Re-check inside the transaction: a concurrent publish of the same version may have won.
    const raced = await versionOf(tx, manifest.name, manifest.version);
    if (raced) {
      if (raced.digest === digest) return { row: raced, created: false };
      throw new ServiceError('VERSION_EXISTS', `${manifest.name}@${manifest.version} is already published with another digest`);
    }
    // A namespace holds a bounded number of versions awaiting review, so a flood cannot bury
    // an urgent one (the queue is also paged and filterable).
    const pending = await countPending(tx, namespace);
    if (pending >= deps.settings.pendingLimit) {
      throw new ServiceError('PENDING_LIMIT', `${namespace} already has ${pending} versions waiting for review (the limit is ${deps.settings.pendingLimit}); publish again once some are approved or rejected`, { pending, limit: deps.settings.pendingLimit });
    }
    if (!(await serverByName(tx, manifest.name))) {
      // Checked again here: a concurrent publish of a case variant may have created its server
      // since the lint ran (the database's servers_name_lower_idx refuses it too).
      const twin = await serverByFoldedName(tx, manifest.name);
      if (twin) throw new ServiceError('NAME_CONFUSABLE', caseTwin(manifest.name, twin.name).message, { findings: [caseTwin(manifest.name, twin.name)] });
      await insertServer(tx, { name: manifest.name, namespace, owner: actor.name, createdAt: now });
    }
    const inserted = await insertVersion(tx, {
      server: manifest.name,
      version: manifest.version,
      digest,
      toolsDigest: canonical.toolsDigest,
      manifest: canonical.text,
      bundle: JSON.stringify(input.bundle),
      provenance: input.provenance === undefined ? null : JSON.stringify(input.provenance),
      signerKind: signer.kind,
      signerFingerprint: signer.keyFingerprint,
      signerIdentity: signer.kind === 'certificate' ? signer.identity : null,
      publisher: actor.name,
      status: 'pending',
      risk,
      findings: JSON.stringify(lint),
      publishedAt: now,
    });
    await appendAudit(tx, { actor: actor.name, action: 'version.publish', subject: `${manifest.name}@${manifest.version}`, details: { digest, signer: signer.kind === 'certificate' ? signer.identity : signer.keyFingerprint, risk } });
    await appendLog(tx, logged, now);
    return { row: inserted, created: true };
  });
  if (row.created) {
    deps.metrics.publishes.inc();
    await logAppended(deps);
  }
  return { created: row.created, record: await versionRecord(deps, row.row) };
}

/**
 * Provenance proves that a builder bound to the namespace (its signer and builder id are in the
 * allowlist entry, apart from the publisher's signers) says it built this exact manifest from
 * the manifest's repository. It does not prove the source is benign, nor that the publisher's
 * key was not used elsewhere; without a bound builder it would prove nothing, so it is refused.
 */
async function checkProvenance(deps: Deps, provenance: Record<string, unknown>, manifest: Manifest, builders: NamespaceBuilders): Promise<void> {
  const refuse = (message: string, cause?: unknown): never => {
    throw new ServiceError('PROVENANCE_INVALID', message, {}, { cause });
  };
  if (builders.entries.length === 0) refuse(`no builder is bound to ${builders.pattern} in the allowlist; provenance signed by the publisher itself would be a self-attestation`);
  const accepted = builders.entries.filter((b) => deps.settings.provenanceBuilders.includes(b.builderId));
  if (accepted.length === 0) refuse(`the builders bound to ${builders.pattern} are not among the registry's accepted builder ids (SIGIL_PROVENANCE_BUILDERS)`);
  const rows = await listCertificateAuthorities(deps.db);
  const cas = trustedCas(rows);
  const policy = SignerPolicy.parse({
    publicKeys: [...new Set(accepted.filter((b) => b.kind === 'key').map((b) => b.value))],
    identities: policyIdentities(accepted, cas),
    trustedRoot: trustedRootOf(deps, rows),
  });
  let verified: ReturnType<typeof verifyProvenanceBundle>;
  try {
    verified = verifyProvenanceBundle(provenance, manifest, { signers: policy, builderIds: [...new Set(accepted.map((b) => b.builderId))] });
  } catch (e) {
    return refuse(`the provenance does not hold: ${(e as Error).message}`, e);
  }
  // The signer must be bound to the very builder id the provenance claims, an identity under the
  // CA it is bound to: the same identity from another CA is another signer.
  const claimed = verified.predicate.runDetails.builder.id;
  const signer = verified.signer;
  const bound = accepted.some((b) => b.builderId === claimed && (b.kind === 'key' ? signer.keyFingerprint === b.fingerprint : signer.kind === 'certificate' && identityMatches(b, signer.identity, signer.caChain, cas)));
  if (!bound) refuse(`the provenance claims the builder ${claimed}, but its signer is not bound to that builder in ${builders.pattern}`);
}

interface NamespaceBuilders {
  pattern: string;
  entries: Array<{ builderId: string; kind: 'key' | 'identity'; value: string; fingerprint: string; ca: string | null }>;
}

/**
 * Signer policies already built, per registry key set, keyed by everything one is built from
 * (the entry's signers, the registered CAs, the log URL): a policy object is compiled once
 * (`compileTrust` memoises per object: keys parsed, CA certificates and the trusted root read),
 * so a publish under an unchanged allowlist reuses it. The allowlist and CAs are still read from
 * the database on every publish; an edit of either makes another key.
 */
const policies = new WeakMap<Deps['keys'], Map<string, SignerPolicy>>();
const MAX_POLICIES = 256;

/** The signer policy of the most specific allowlist pattern covering `name`, and its bound builders. */
export async function namespacePolicy(deps: Deps, name: string): Promise<{ signers: SignerPolicy; builders: NamespaceBuilders }> {
  const entries = await listAllowlist(deps.db);
  const pattern = mostSpecificPattern(
    entries.map((e) => e.pattern),
    name,
  );
  if (pattern === undefined) throw new ServiceError('NAMESPACE_NOT_ALLOWED', `no allowlist entry covers the namespace of ${name}`);
  const entry = entries.find((e) => e.pattern === pattern)!;
  const cas = await listCertificateAuthorities(deps.db);
  const key = JSON.stringify([entry.signers.map((s) => [s.kind, s.value, s.ca]), cas.map((c) => c.chainPem), deps.settings.tlogUrl]);
  let built = policies.get(deps.keys);
  if (!built) policies.set(deps.keys, (built = new Map()));
  let signers = built.get(key);
  if (!signers) {
    signers = SignerPolicy.parse({
      publicKeys: entry.signers.filter((s) => s.kind === 'key').map((s) => s.value),
      // Each identity only under the CA it is bound to (signer-spec.ts, effectiveCa).
      identities: policyIdentities(entry.signers, trustedCas(cas)),
      trustedRoot: trustedRootOf(deps, cas),
    });
    // The oldest goes first (a Map keeps insertion order).
    if (built.size >= MAX_POLICIES) built.delete(built.keys().next().value!);
    built.set(key, signers);
  }
  return { signers, builders: { pattern, entries: entry.builders } };
}

export function signingRefusal(e: unknown, what: string): ServiceError {
  if (!(e instanceof SigningError)) return new ServiceError('SIGNATURE_INVALID', `${what} could not be verified`, {}, { cause: e });
  switch (e.code) {
    case 'SIGNER_UNTRUSTED':
      // The verifier speaks of its policy; here that policy is the registry's allowlist (publish) or reviewer binding (approve).
      return new ServiceError('SIGNER_NOT_ALLOWED', `${what} is by a signer the registry does not allow here (see sigil allowlist list, or the reviewer's binding): ${e.message.replace(/ (is )?not in the policy/, ' $1not allowed')}`, {}, { cause: e });
    case 'SUBJECT_MISMATCH':
    case 'NAME_MISMATCH':
      return new ServiceError('SUBJECT_MISMATCH', `${what} is not about this manifest: ${e.message}`, {}, { cause: e });
    default:
      return new ServiceError('SIGNATURE_INVALID', `${what} does not verify: ${e.message}`, { reason: e.code }, { cause: e });
  }
}

async function lintFindings(deps: Deps, manifest: Manifest, actor: Principal): Promise<LintFinding[]> {
  const linter = deps.linter;
  const findings = linter.lintManifest(manifest, { errorRules: deps.settings.lintErrorRules });
  // A new name, or one whose every version was rejected (it holds nothing, and is checked again
  // like a new one: a rejected squat cannot come back once the real name exists).
  if (!(await holdsName(deps.db, manifest.name))) {
    // Without the name itself: a concurrent publish (another request or instance) may have
    // stored it since the check above, and a name is no twin of itself.
    const existing = (await allServers(deps.db)).filter((s) => s.name !== manifest.name);
    const held = new Set((await nameHoldingServers(deps.db)).map((s) => s.name));
    for (const f of linter.checkName({ name: manifest.name, owner: actor.name }, existing.map((s) => ({ name: s.name, owner: s.owner })))) {
      // A server whose every version was rejected blocks no look-alike (reviewers free a squatted
      // name by rejecting the squat); the resemblance is still shown for review, as a warning.
      if (f.rule === 'NAME_CONFUSABLE' && f.excerpt !== undefined && !held.has(f.excerpt)) findings.push({ ...f, severity: 'warning', message: `${f.message} (every version of ${f.excerpt} was rejected, so it holds no name)` });
      else findings.push(f);
    }
    // Names are unique case-insensitively: a case-only variant is refused whoever holds the other.
    const twin = existing.find((s) => nameKey(s.name) === nameKey(manifest.name));
    if (twin) findings.push(caseTwin(manifest.name, twin.name));
  }
  // Every approved server exposing a tool of the same name, through the tool-name index.
  const others = (await approvedToolOwners(
    deps.db,
    manifest.tools.map((t) => t.name),
    manifest.name,
  )).map((o) => ({ name: o.server, tools: o.tools }));
  findings.push(...linter.checkShadowing(manifest, others));
  return findings;
}

/** The finding for a name that differs only in case from a stored one. */
function caseTwin(name: string, stored: string): LintFinding {
  return { path: '/name', rule: 'NAME_CONFUSABLE', severity: 'error', message: `${name} differs only in case from ${stored}; names are unique whatever their case`, excerpt: stored };
}
