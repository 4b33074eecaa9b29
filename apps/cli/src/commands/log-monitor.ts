import { createPublicKey, X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { mostSpecificPattern, namespacePatternProblem, parseReference, type Manifest } from '@sigil/manifest';
import { publicKeyFingerprint, SignerPolicy, SigningError, type TrustedRootJson, verifyManifestBundle } from '@sigil/signing/verify';
import { checkEntryForEnvelope, encodeTileIndex, equalHashes, type EntryBody, type Hash, hashLeaf, HASH_SIZE, merkleTreeHash, parseEntryBody, parseEntryBundle, TILE_WIDTH, TlogError } from '@sigil/tlog';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { callRegistry } from '../http.js';
import { fetchBytes, floorFile, LOG_LIMITS, openLatestCheckpoint, refuseTlog, trustedLogOf } from '../log-reads.js';

/** At most this many signature entries are attributed per run (one lookup each): monitor with --since. */
const MAX_ATTRIBUTED = 20_000;
const PARALLEL = 8;

interface EnvelopeJson {
  payload: string;
  payloadType: string;
  signatures: { sig: string }[];
}
interface BundleJson {
  dsseEnvelope?: EnvelopeJson;
}
interface VersionRecordJson {
  name: string;
  version: string;
  manifest: Manifest;
  bundle: BundleJson;
  approvals: { reviewer: string; bundle: BundleJson }[];
}

/** One entry of the monitored namespace, as reported. */
interface MonitoredEntry {
  logIndex: number;
  kind: string;
  form: string;
  subject: string;
  signer?: string;
  /** Manifest signatures: whether the allowlist (or --policy) allows the signer for this name. */
  allowed?: boolean;
  reason?: string;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const envelopeOf = (e: EnvelopeJson) => ({ payloadType: e.payloadType, payload: Buffer.from(e.payload, 'base64'), signatures: e.signatures.map((s) => ({ sig: Buffer.from(s.sig, 'base64') })) });

/** Who an entry says signed: a key fingerprint (`SHA256:…`) or a certificate's SAN. */
function signerOf(entry: EntryBody): string {
  const verifier = entry.signatures[0]!.verifier;
  if ('publicKey' in verifier) return publicKeyFingerprint(createPublicKey({ key: Buffer.from(verifier.publicKey), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString());
  return new X509Certificate(Buffer.from(verifier.certificate)).subjectAltName ?? 'certificate without SAN';
}

/** The namespace-to-signers map a manifest signer must be in: the policy file's publishers, else the registry's allowlist. */
async function allowedSigners(ctx: Context, policyFile: string | undefined, trustedRoot: TrustedRootJson): Promise<Array<{ namespace: string; signers: SignerPolicy }>> {
  if (policyFile) {
    const { loadPublisherPolicy } = await import('@sigil/resolver');
    return loadPublisherPolicy(policyFile);
  }
  type Allowlist = { entries: { pattern: string; signers: ({ kind: 'key'; publicKey: string } | { kind: 'identity'; identity: string; ca?: string })[] }[] };
  const { body } = await callRegistry<Allowlist>(ctx, 'GET', '/v1/allowlist');
  // An identity counts only under its CA; one listed without a CA counts for the registry's only
  // CA, and for nothing while it trusts several (docs/api.md, "Certificate identities and their CA").
  const severalCas = trustedRoot.certificateAuthorities.length > 1;
  return body.entries.map((e) => ({
    namespace: e.pattern,
    signers: SignerPolicy.parse({
      publicKeys: e.signers.flatMap((s) => (s.kind === 'key' ? [s.publicKey] : [])),
      identities: e.signers.flatMap((s) => (s.kind !== 'identity' ? [] : s.ca ? [{ identity: s.identity, ca: s.ca }] : severalCas ? [] : [{ identity: s.identity }])),
      trustedRoot,
    }),
  }));
}

/** Every leaf hash of the tree, with the entry bodies of `[since, size)`: hash tiles below, entry bundles from the tile holding `since`. */
async function readLeaves(ctx: Context, size: number, since: number): Promise<{ leaves: Hash[]; bodies: Map<number, Uint8Array> }> {
  const leaves: Hash[] = [];
  const bodies = new Map<number, Uint8Array>();
  for (let n = 0; n * TILE_WIDTH < size; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const suffix = `${encodeTileIndex(n)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
    if ((n + 1) * TILE_WIDTH <= since) {
      // Only hashes are needed below `since`: comparing the root with the signed one authenticates them.
      const tile = await fetchBytes(ctx, `/v1/log/tile/0/${suffix}`, TILE_WIDTH * HASH_SIZE);
      if (tile.length !== width * HASH_SIZE) throw new CliError('TILE_INVALID', `the hash tile 0/${suffix} holds ${tile.length} bytes, not ${width * HASH_SIZE}`);
      for (let i = 0; i < width; i++) leaves.push(tile.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      continue;
    }
    const bytes = await fetchBytes(ctx, `/v1/log/tile/entries/${suffix}`, LOG_LIMITS.tileBytes);
    refuseTlog(() => parseEntryBundle(bytes, width)).forEach((body, i) => {
      const index = n * TILE_WIDTH + i;
      leaves.push(hashLeaf(body));
      if (index >= since) bodies.set(index, body);
    });
  }
  return { leaves, bodies };
}

/** The name a signed statement is about (its first subject, `name@version`), read from the payload the entry's digest binds. */
function statementName(envelope: EnvelopeJson): string | undefined {
  try {
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as { subject?: { name?: unknown }[] };
    const name = statement.subject?.[0]?.name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function inNamespace(pattern: string, ref: string): boolean {
  const at = ref.lastIndexOf('@');
  const name = at > 0 ? ref.slice(0, at) : ref;
  return name.includes('/') && mostSpecificPattern([pattern], name) !== undefined;
}

/**
 * `sigil log monitor --namespace <pattern> [--since <size>] [--policy <file>]`: what a publisher
 * runs in CI to learn of a key compromise. Opens the newest checkpoint with the pinned log key,
 * re-derives its root from the logged entries (hash tiles below `--since`, entries from it on),
 * attributes every signature entry from `--since` on to the statement it records (the payload its
 * digest binds, from the version record: nothing the registry says about an entry is taken on
 * trust), lists those of the namespace, and exits 1 when a manifest signer is not one the policy
 * file's publishers (or else the registry's allowlist) allow, or when an entry cannot be attributed.
 */
export function registerLogMonitor(log: Command, ctx: Context): void {
  log
    .command('monitor')
    .description('list the log entries of a namespace since a size; exit 1 when a signer is not allowed (run it in CI to learn of a key compromise)')
    .requiredOption('--namespace <pattern>', 'namespace pattern, e.g. io.github.acme or io.github.*')
    .option('--since <size>', 'the tree size already monitored (the `size` a previous run printed); --checkpoint is safer')
    .option('--checkpoint <file>', 'the signed checkpoint of the last run that passed, kept between runs: the run starts from its size, refuses a log that does not extend it (LOG_INCONSISTENT), and stores the new one when it passes')
    .option('--policy <file>', 'trust policy whose publishers say who may sign (default: the registry allowlist, which needs an admin or security token)')
    .option('--trusted-root <file>', "pinned trusted root listing the log (default: the registry's /v1/trusted-root)")
    .action(async (opts: { namespace: string; since?: string; checkpoint?: string; policy?: string; trustedRoot?: string }) => {
      const problem = namespacePatternProblem(opts.namespace);
      if (problem) throw new CliError('USAGE', `--namespace: ${problem}`, [], 2);
      if (opts.since !== undefined && opts.checkpoint !== undefined) throw new CliError('USAGE', '--since and --checkpoint both say where to start: give one (--checkpoint starts from the size of the checkpoint it holds)', [], 2);
      if (opts.since !== undefined && (!/^(0|[1-9][0-9]{0,15})$/.test(opts.since) || !Number.isSafeInteger(Number(opts.since)))) throw new CliError('USAGE', '--since is a tree size (a non-negative integer)', [], 2);
      const { log: theLog, root: trustedRoot } = await trustedLogOf(ctx, opts.trustedRoot);
      // The floor: the exact signed note a previous run stored, opened with the pinned log key.
      const floor = opts.checkpoint === undefined ? undefined : await floorFile.read(opts.checkpoint, theLog);
      const since = floor?.size ?? Number(opts.since ?? '0');
      const latest = await openLatestCheckpoint(ctx, theLog);
      const cp = latest.checkpoint;
      if (since > cp.size) throw new CliError('LOG_ROLLBACK', `the signed log holds ${cp.size} entries, fewer than the ${since} already monitored: it shrank, or this is another log`);
      if (cp.size > LOG_LIMITS.maxEntries) throw new CliError('LOG_TOO_LARGE', `the log holds ${cp.size} entries; this command reads at most ${LOG_LIMITS.maxEntries}`);
      const { leaves, bodies } = await readLeaves(ctx, cp.size, since);
      const root = merkleTreeHash(leaves);
      if (!equalHashes(root, cp.root)) throw new CliError('LOG_INCONSISTENT', `the log's entries hash to ${b64(root)}, but the signed checkpoint says ${b64(cp.root)}`);
      // The hashes below the floor came from the registry, authenticated only by the new root:
      // without this, a log rewritten below the floor (a fork) would be re-derived and pass.
      if (floor !== undefined) floorFile.check(floor, latest.envelope, leaves, theLog);

      const signed = [...bodies].filter(([, body]) => !isEvent(body));
      if (signed.length > MAX_ATTRIBUTED) throw new CliError('LOG_TOO_LARGE', `${signed.length} signature entries since ${since}; monitor at most ${MAX_ATTRIBUTED} per run (raise --since)`);
      const publishers = await allowedSigners(ctx, opts.policy, trustedRoot);
      const records = new Map<string, Promise<VersionRecordJson | undefined>>();
      const recordOf = (ref: string) => {
        let r = records.get(ref);
        if (!r) {
          let parsed;
          try {
            parsed = parseReference(ref);
          } catch {
            return Promise.resolve(undefined);
          }
          const { name, version } = parsed;
          const [ns, ...rest] = name.split('/');
          r = callRegistry<VersionRecordJson>(ctx, 'GET', `/v1/servers/${encodeURIComponent(ns!)}/${rest.map(encodeURIComponent).join('/')}/versions/${encodeURIComponent(version)}`)
            .then((x) => x.body)
            .catch((e: unknown) => {
              if (e instanceof CliError && e.code === 'NOT_FOUND') return undefined;
              throw e;
            });
          records.set(ref, r);
        }
        return r;
      };

      const found: MonitoredEntry[] = [];
      const unattributed: MonitoredEntry[] = [];
      for (const [index, body] of bodies) {
        if (!isEvent(body)) continue;
        const spec = (JSON.parse(Buffer.from(body).toString('utf8')) as { spec: { event: string; subject: string } }).spec;
        if (inNamespace(opts.namespace, spec.subject)) found.push({ logIndex: index, kind: spec.event, form: 'sigil-event', subject: spec.subject });
      }
      for (let i = 0; i < signed.length; i += PARALLEL) {
        await Promise.all(
          signed.slice(i, i + PARALLEL).map(async ([index, body]) => {
            const entry = refuseTlog(() => parseEntryBody(body));
            const claim = (await callRegistry<{ kind: string; subject: string }>(ctx, 'GET', `/v1/log/proof?leaf=${index}`)).body;
            const record = claim.kind === 'manifest' || claim.kind === 'approval' ? await recordOf(claim.subject) : undefined;
            const candidates = record ? (claim.kind === 'manifest' ? [record.bundle] : record.approvals.map((a) => a.bundle)) : [];
            const bundle = candidates.find((b) => b.dsseEnvelope && matches(entry, b.dsseEnvelope));
            const subject = bundle?.dsseEnvelope ? statementName(bundle.dsseEnvelope) : undefined;
            if (!record || !bundle || subject !== claim.subject) {
              // An entry nobody can tie to a statement may be one of this namespace: fail closed.
              unattributed.push({ logIndex: index, kind: claim.kind, form: entry.kind, subject: claim.subject, signer: signerOf(entry), reason: 'no version record holds the signature this entry records' });
              return;
            }
            if (!inNamespace(opts.namespace, subject)) return;
            const out: MonitoredEntry = { logIndex: index, kind: claim.kind, form: entry.kind, subject, signer: signerOf(entry) };
            // Approvals are listed with their signer: who may review is the host policy's call.
            if (claim.kind === 'manifest') Object.assign(out, judgeManifest(record, bundle, publishers));
            found.push(out);
          }),
        );
      }
      found.sort((a, b) => a.logIndex - b.logIndex);
      const hidden = await hiddenRefusals(ctx, found, cp.size);
      const refused = found.filter((e) => e.allowed === false);
      const ok = refused.length === 0 && unattributed.length === 0 && hidden.length === 0;
      const code = refused.length ? 'SIGNER_NOT_ALLOWED' : unattributed.length ? 'LOG_ENTRY_UNKNOWN' : hidden.length ? 'LOG_ENTRY_HIDDEN' : undefined;
      // With --checkpoint the file is the next run's start (moved only when this run passed); without it, --since is.
      const next = opts.checkpoint === undefined ? `next: --since ${cp.size}` : ok ? `checkpoint kept in ${opts.checkpoint}` : `${opts.checkpoint} left at size ${since}`;
      const lines = [
        ...found.map((e) => `${e.logIndex}\t${e.kind}\t${e.form}\t${e.subject}${e.signer ? `\t${e.signer}` : ''}${e.allowed === false ? `\tNOT ALLOWED: ${e.reason ?? ''}` : ''}`),
        ...unattributed.map((e) => `${e.logIndex}\t${e.kind}\t${e.form}\t${e.subject}\tUNATTRIBUTED: ${e.reason ?? ''}`),
        ...hidden.map((e) => `${e.logIndex}\t${e.kind}\t${e.form}\t${e.subject}\tHIDDEN: ${e.reason ?? ''}`),
        `${cp.origin}: ${found.length} entr${found.length === 1 ? 'y' : 'ies'} of ${opts.namespace} in [${since}, ${cp.size}), root ${b64(cp.root)} re-derived; ${ok ? 'every manifest signer is allowed' : `${code}: ${refused.length} signer(s) not allowed, ${unattributed.length} entr(ies) not attributable, ${hidden.length} refusal(s) hidden from hosts`}; ${next}`,
      ];
      // The floor moves only on a run that passed: a refused entry is reported again next time.
      if (ok && opts.checkpoint !== undefined) await floorFile.write(opts.checkpoint, latest.envelope);
      ctx.out.result({ ok, ...(code ? { code } : {}), origin: cp.origin, namespace: opts.namespace, since, size: cp.size, root: b64(cp.root), entries: found, unattributed, hidden }, lines.join('\n'));
      ctx.exitCode = ok ? 0 : 1;
    });
}

/** Refs asked of `POST /v1/log/proofs` at a time (its limit is larger). */
const PROOF_REFS_PER_CALL = 100;

/**
 * The logged revocations and rejections that the registry's lookup for their version leaves out.
 * A host learns of a version's logged refusals only through that lookup (`POST /v1/log/proofs`),
 * which finds entries by columns outside the leaf hash: rewriting them hides a revocation from
 * every host without touching the tree. The monitor reads the log itself, so it asks the lookup,
 * in the tree it verified, for each refusal it read, and reports each one not shown.
 */
async function hiddenRefusals(ctx: Context, found: MonitoredEntry[], size: number): Promise<MonitoredEntry[]> {
  const refusals = found.filter((e) => e.form === 'sigil-event' && (e.kind === 'revocation' || e.kind === 'rejection'));
  const refs = [...new Set(refusals.map((e) => e.subject))];
  const shown = new Set<string>();
  for (let i = 0; i < refs.length; i += PROOF_REFS_PER_CALL) {
    type Proofs = { entries: Array<{ ref: string; kind: string; logIndex: number }> };
    const { body } = await callRegistry<Proofs>(ctx, 'POST', '/v1/log/proofs', { refs: refs.slice(i, i + PROOF_REFS_PER_CALL), size });
    for (const e of body.entries) shown.add(`${e.logIndex} ${e.kind} ${e.ref}`);
  }
  return refusals
    .filter((e) => !shown.has(`${e.logIndex} ${e.kind} ${e.subject}`))
    .map((e) => ({ ...e, reason: `the registry's log lookup for ${e.subject} leaves out this ${e.kind}, so hosts are not shown it` }));
}

function isEvent(body: Uint8Array): boolean {
  try {
    return (JSON.parse(Buffer.from(body).toString('utf8')) as { kind?: unknown }).kind === 'sigil-event';
  } catch {
    return false;
  }
}

function matches(entry: EntryBody, envelope: EnvelopeJson): boolean {
  try {
    checkEntryForEnvelope(entry, envelopeOf(envelope));
    return true;
  } catch (e) {
    if (e instanceof TlogError) return false;
    throw e;
  }
}

/** Whether the manifest signature verifies under the signers allowed for its name (most specific pattern). */
function judgeManifest(record: VersionRecordJson, bundle: BundleJson, publishers: Array<{ namespace: string; signers: SignerPolicy }>): { allowed: boolean; reason?: string } {
  const pattern = mostSpecificPattern(
    publishers.map((p) => p.namespace),
    record.name,
  );
  if (pattern === undefined) return { allowed: false, reason: `no signer is allowed for ${record.name}` };
  try {
    verifyManifestBundle(bundle as Record<string, unknown>, record.manifest, publishers.find((p) => p.namespace === pattern)!.signers);
    return { allowed: true };
  } catch (e) {
    if (e instanceof SigningError) return { allowed: false, reason: `${e.code}: ${e.message}` };
    throw e;
  }
}
