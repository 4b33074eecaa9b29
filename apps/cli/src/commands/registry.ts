import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import {
  canonicalJson,
  diffManifests,
  manifestDigest,
  parseReference,
  pinnedServerInfo,
  ReviewView,
  VersionRecord,
  type AllowlistEntry,
  type Manifest,
  type AllowlistList,
  type AuditCheck,
  type AuditPage,
  type ReviewerList,
  type ReviewerRecord,
  type ReviewerRemoved,
  type ReviewQueue,
  type ServerList,
  type TokenCreated,
  type TokenList,
  type TokenRevoked,
  type Whoami,
} from '@sigil/manifest';
import { CA_FILES, certificateFingerprint, readPublicKey, type SubjectRef } from '@sigil/signing/sign';
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { wholeNumber } from '../whole-number.js';
import { MAKE_KEY, readBounded, requireFile } from '../files.js';
import { callRegistry, registryBase, versionPath } from '../http.js';
import { formatFindings, plural, safeText } from '../output.js';
import { loadManifest } from './manifest.js';

const BUNDLE_LIMIT = 512 * 1024;
/** The registry's largest review-queue page, and the most versions `review list --all` collects. */
const REVIEW_PAGE_MAX = 500;
const REVIEW_LIST_MAX = 100_000;

async function readJsonFile(path: string, limit: number): Promise<Record<string, unknown>> {
  const bytes = await readBounded(path, limit);
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new CliError('BUNDLE_INVALID', `${path} is not a JSON object`);
  }
}

type SignerOptions = { publicKey?: string; identity?: string; ca?: string };
type SignerBody = { publicKey?: string; identity?: string; ca?: string };

/**
 * A signer for the API: a public key file, or a certificate identity and the CA it is bound to
 * (`--ca`: a `SHA256:` fingerprint, a CA directory from `sigil ca init`, or a CA certificate file).
 */
async function signerOf(opts: SignerOptions): Promise<SignerBody> {
  if ((opts.publicKey === undefined) === (opts.identity === undefined)) throw new UsageError('give exactly one of --public-key <file.pub> and --identity <san>');
  if (opts.publicKey !== undefined) {
    if (opts.ca !== undefined) throw new UsageError('--ca binds a certificate identity to its CA; it does not go with --public-key');
    await requireFile(opts.publicKey, 'the public key', MAKE_KEY);
    // A key this CLI cannot read goes to the registry as it is, for the registry's own refusal,
    // unless it holds a private key: that is refused here, and never leaves the machine.
    return {
      publicKey: await readPublicKey(opts.publicKey).catch(async (e: unknown) => {
        const text = await readFile(opts.publicKey!, 'utf8');
        if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) throw e;
        return text;
      }),
    };
  }
  return { identity: opts.identity!, ...(opts.ca !== undefined ? { ca: await caFingerprint(opts.ca) } : {}) };
}

/** `--ca` as the registry takes it: a fingerprint as given, or the fingerprint of a CA directory's or file's certificate. */
async function caFingerprint(value: string): Promise<string> {
  if (value.startsWith('SHA256:')) return value;
  const file = (await stat(value).catch(() => undefined))?.isDirectory() ? join(value, CA_FILES.certificate) : value;
  await requireFile(file, 'the CA certificate', 'give the SHA256: fingerprint sigil ca register printed, or the CA directory from sigil ca init');
  try {
    return certificateFingerprint(await readFile(file, 'utf8'));
  } catch {
    throw new CliError('CERTIFICATE_INVALID', `${file} is not a PEM certificate; --ca takes a SHA256: fingerprint, a CA directory or a CA certificate file`);
  }
}

/** A stored signer (as the registry lists it) as the API takes it back. */
function signerBody(s: { publicKey?: string | undefined; identity?: string | undefined; ca?: string | undefined }): SignerBody {
  return s.publicKey ? { publicKey: s.publicKey } : { identity: s.identity!, ...(s.ca ? { ca: s.ca } : {}) };
}

/** The stored rows of this identity without a CA, when `--ca` gives it one (they are replaced). */
function unboundOf<T extends { identity?: string | undefined; ca?: string | undefined }>(stored: readonly T[], signer: SignerBody): T[] {
  return signer.identity !== undefined && signer.ca !== undefined ? stored.filter((s) => s.identity === signer.identity && !s.ca) : [];
}

function ttlSeconds(value: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
  if (!m) throw new UsageError(`--ttl takes a duration like 30m, 1h or 7d, not ${JSON.stringify(value)}`);
  const n = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (n < 60) throw new UsageError('--ttl must be at least 60 seconds');
  return n;
}

export function registerRegistry(program: Command, ctx: Context): void {
  program
    .command('publish')
    .description('publish a signed manifest to the registry (it starts pending review)')
    .argument('<manifest>', 'manifest file')
    .requiredOption('--bundle <bundle>', 'Sigstore bundle from sigil sign')
    .option('--provenance <bundle>', 'SLSA provenance bundle')
    .action(async (file: string, opts: { bundle: string; provenance?: string }) => {
      const { manifest } = await loadManifest(file);
      const bundle = await readJsonFile(opts.bundle, BUNDLE_LIMIT);
      const provenance = opts.provenance ? await readJsonFile(opts.provenance, BUNDLE_LIMIT) : undefined;
      const { status, body } = await callRegistry<VersionRecord>(ctx, 'POST', '/v1/publish', { manifest, bundle, ...(provenance ? { provenance } : {}) });
      ctx.out.result(body, `${status === 201 ? 'published' : 'already published'} ${body.name}@${body.version} ${body.digest} (${body.status}, ${body.risk} risk)`);
    });

  const review = program.command('review').description('the review queue and decisions (security role)');
  review
    .command('list')
    .description('the review queue, oldest first, one page at a time (--all follows every page)')
    .addOption(new Option('--status <status>', 'pending|approved|rejected|revoked').choices(['pending', 'approved', 'rejected', 'revoked']).default('pending'))
    .option('--namespace <namespace>', 'only servers in this exact namespace, e.g. io.github.acme')
    .option('--publisher <principal>', 'only versions published by this principal')
    .addOption(new Option('--risk <risk>', 'low|high').choices(['low', 'high']))
    .addOption(new Option('--limit <n>', `versions per page (1 to ${REVIEW_PAGE_MAX}; default 100, ${REVIEW_PAGE_MAX} with --all)`).argParser(wholeNumber('--limit', 1, REVIEW_PAGE_MAX)))
    .option('--cursor <cursor>', 'start after this cursor (printed after a page that is not the last)')
    .option('--all', 'follow the cursor to the last page', false)
    .action(async (opts: { status: string; namespace?: string; publisher?: string; risk?: string; limit?: number; cursor?: string; all: boolean }) => {
      type Page = ReviewQueue;
      const filter = { status: opts.status, ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.publisher ? { publisher: opts.publisher } : {}), ...(opts.risk ? { risk: opts.risk } : {}) };
      const limit = String(opts.limit ?? (opts.all ? REVIEW_PAGE_MAX : 100));
      const reviews: Page['reviews'] = [];
      // A registry that repeats a cursor would page forever, and one that never ends would fill
      // memory: both are refused rather than followed.
      const seen = new Set<string>();
      let cursor = opts.cursor;
      let next: string | null;
      for (;;) {
        const query = new URLSearchParams({ ...filter, limit, ...(cursor !== undefined ? { cursor } : {}) });
        const { body } = await callRegistry<Page>(ctx, 'GET', `/v1/reviews?${query}`);
        reviews.push(...body.reviews);
        next = body.next;
        if (!opts.all || next === null) break;
        if (seen.has(next) || next === opts.cursor) throw new CliError('RESPONSE_INVALID', `the registry returned the review cursor ${JSON.stringify(next)} twice`);
        if (reviews.length >= REVIEW_LIST_MAX) throw new CliError('LIST_TOO_LONG', `the review queue has more than ${REVIEW_LIST_MAX} versions; narrow it with --namespace, --publisher or --risk, or page with --cursor`);
        seen.add(next);
        cursor = next;
      }
      const lines = reviews.map((r) => `${r.name}@${r.version}  ${r.status}  ${r.risk} risk  ${r.findings} findings  by ${safeText(r.publisher)}  ${r.digest}`);
      ctx.out.result(
        { reviews, next },
        lines.length || next !== null ? `${lines.join('\n')}\n${plural(lines.length, 'version')}${next !== null ? `; more with --all or --cursor ${next}` : ''}` : `no ${opts.status} versions${opts.namespace || opts.publisher || opts.risk ? ' match the filters' : ''}${opts.cursor !== undefined ? ` after cursor ${safeText(opts.cursor)} (leave --cursor out to start from the first)` : ''}`,
      );
    });
  review
    .command('show')
    .description('lint findings, the diff against the last approved version, signer and provenance')
    .argument('<ref>', '<name>@<version>')
    .action(async (ref: string) => {
      const { name, version } = parseReference(ref);
      const { body } = await callRegistry<unknown>(ctx, 'GET', `${versionPath(name, version)}/review`);
      const view = ReviewView.safeParse(body);
      if (!view.success || view.data.name !== name || view.data.version !== version) throw new CliError('RESPONSE_INVALID', `the registry's answer for the review of ${name}@${version} is not a review of that version`);
      if (ctx.out.json) return ctx.out.result(view.data, '');
      // What the reviewer approves, shown from what the digests name, not from the registry's
      // words: the version's manifest and the approved one it is compared with, each held to its
      // digest (and the latter to being approved), and the diff between them computed here.
      const manifest = await reviewedManifest(ctx, name, version, view.data.digest);
      const baseline = view.data.baseline ? await reviewedManifest(ctx, name, view.data.baseline.version, view.data.baseline.digest, 'approved') : undefined;
      ctx.out.result(view.data, describeReview(view.data, manifest, baseline));
    });
  review
    .command('approve')
    .description('sign an approval statement for this exact version and post it')
    .argument('<ref>', '<name>@<version>')
    .requiredOption('--key <file>', 'your reviewer private key')
    .option('--cert <file.crt>', 'your short-lived certificate (timestamped by the registry TSA)')
    .option('--comment <text>', 'a comment recorded in the signed statement')
    .option('--digest <sha256:hex>', 'the digest you reviewed (review show): refuse unless the version still has it')
    .action(async (ref: string, opts: { key: string; cert?: string; comment?: string; digest?: string }) => {
      const { name, version } = parseReference(ref);
      if (opts.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(opts.digest)) throw new UsageError(`--digest takes the digest review show prints, sha256:<64 lowercase hex>, not ${JSON.stringify(opts.digest.slice(0, 80))}`);
      await requireFile(opts.key, 'your reviewer key', MAKE_KEY);
      if (opts.cert) await requireFile(opts.cert, 'your certificate', 'ask your CA for one (sigil ca issue)');
      const { body: record } = await callRegistry<VersionRecord>(ctx, 'GET', versionPath(name, version));
      // Sign only what was reviewed (approvalSubject): the digest recomputed from the manifest
      // fetched, and with --digest the one the reviewer saw in review show.
      const parsed = VersionRecord.safeParse(record);
      if (!parsed.success || parsed.data.name !== name || parsed.data.version !== version) throw new CliError('RESPONSE_INVALID', `the registry's answer for ${name}@${version} is not its version record`);
      const { approvalSubject, loadSigner, signApprovalStatement, SigningError } = await import('@sigil/signing/sign');
      let subject: SubjectRef;
      try {
        subject = approvalSubject(parsed.data, opts.digest);
      } catch (e) {
        // A stated digest that is not the manifest's keeps the code hosts know it by.
        if (e instanceof SigningError && e.code === 'SUBJECT_MISMATCH') throw new CliError('DIGEST_MISMATCH', e.message, [], 1, { cause: e });
        throw e;
      }
      const signer = await loadSigner({ keyPath: opts.key, ...(opts.cert ? { certificatePath: opts.cert, tsaUrl: `${registryBase(ctx)}/api/v1/timestamp` } : {}) });
      // The statement names the reviewer; the registry checks it is the principal of the token.
      const { body: me } = await callRegistry<Whoami>(ctx, 'GET', '/v1/whoami');
      const principal = me.principal;
      const bundle = await signApprovalStatement(
        subject,
        { decision: 'approved', reviewer: principal, risk: record.risk === 'high' ? 'high' : 'low', ...(opts.comment ? { comment: opts.comment } : {}) },
        signer,
      );
      const { body } = await callRegistry<VersionRecord>(ctx, 'POST', `${versionPath(name, version)}/approvals`, { bundle });
      // The review view says how many approvals this version needs and why, so the reviewer knows what happens next.
      const { body: view } = await callRegistry<ReviewView>(ctx, 'GET', `${versionPath(name, version)}/review`);
      ctx.out.result({ ...body, approvalsRequired: view.approvalsRequired, riskReasons: view.riskReasons }, [`approved ${name}@${version}: ${approvalLine(body.status, body.approvals.length, view)}`, ...view.riskReasons.map((r) => `  high risk: ${safeText(r)}`)].join('\n'));
    });
  review
    .command('reject')
    .description('reject a pending version')
    .argument('<ref>', '<name>@<version>')
    .requiredOption('--reason <text>', 'why')
    .action(async (ref: string, opts: { reason: string }) => {
      const { name, version } = parseReference(ref);
      const { body } = await callRegistry<VersionRecord>(ctx, 'POST', `${versionPath(name, version)}/rejections`, { reason: opts.reason });
      ctx.out.result(body, `rejected ${name}@${version}`);
    });

  program
    .command('revoke')
    .description('revoke a version: hosts refuse it at their next resolve')
    .argument('<ref>', '<name>@<version>')
    .requiredOption('--reason <text>', 'why')
    .action(async (ref: string, opts: { reason: string }) => {
      const { name, version } = parseReference(ref);
      const { body } = await callRegistry<VersionRecord>(ctx, 'POST', `${versionPath(name, version)}/revocations`, { reason: opts.reason });
      ctx.out.result(body, `revoked ${name}@${version}`);
    });

  const allowlist = program.command('allowlist').description('namespace patterns and who may sign in them (admin)');
  allowlist
    .command('add')
    .description('allow a signer (public key or certificate identity) in a namespace pattern')
    .argument('<namespace-pattern>', 'e.g. io.github.acme or com.example.*')
    .option('--public-key <file.pub>', 'signer public key')
    .option('--identity <san>', 'signer certificate identity (mailto:… or https://…)')
    .option('--ca <fingerprint|dir|file.crt>', 'the CA that issues the identity\'s certificates (needed when the registry trusts several)')
    .action(async (pattern: string, opts: SignerOptions) => {
      const signer = await signerOf(opts);
      const path = `/v1/allowlist/${encodeURIComponent(pattern)}`;
      const existing = await callRegistry<AllowlistEntry>(ctx, 'GET', path).catch((e: unknown) => {
        if (e instanceof CliError && e.code === 'NOT_FOUND') return { body: { signers: [] } };
        // The read is only a step of this write: name the write, and who may do it.
        if (e instanceof CliError && e.code === 'FORBIDDEN') throw new CliError('FORBIDDEN', 'changing the allowlist needs an admin token (SIGIL_TOKEN)', [], 1, e.requestId ? { requestId: e.requestId } : {});
        throw e;
      });
      const stored = existing.body.signers;
      // The same key, or the identity under the CA given: nothing to write. Without --ca the
      // registry decides (its only CA, or a refusal when it trusts several), so it is asked.
      if (stored.some((s) => (signer.publicKey ? s.publicKey?.trim() === signer.publicKey.trim() : signer.ca !== undefined && s.identity === signer.identity && s.ca === signer.ca))) {
        ctx.out.result({ pattern, signers: stored.map(signerBody), unchanged: true }, `${pattern}: this signer is already allowed (${plural(stored.length, 'signer')}); nothing changed`);
        return;
      }
      // With --ca, a stored unbound row of this identity (from before identities carried their CA)
      // is replaced: sent back, the registry would refuse it beside several CAs.
      const replaced = unboundOf(stored, signer);
      const signers = [...stored.filter((s) => !replaced.includes(s)).map(signerBody), signer];
      const { body } = await callRegistry<AllowlistEntry>(ctx, 'PUT', path, { signers });
      const before = new Set(stored.map((s) => s.fingerprint));
      const same = body.signers.length === before.size && body.signers.every((s) => before.has(s.fingerprint));
      const lines = [same ? `${pattern}: this signer is already allowed (${plural(body.signers.length, 'signer')}); its signers are unchanged` : `${pattern}: ${plural(body.signers.length, 'signer')}`, ...replaced.map((s) => `  replaced the unbound ${safeText(s.identity ?? '')} (it signed nothing) with it under CA ${signer.ca}`)];
      ctx.out.result(body, lines.join('\n'));
    });
  allowlist
    .command('add-builder')
    .description('accept SLSA provenance in a namespace pattern from a builder id, signed by its own key or certificate identity (never the publisher\'s)')
    .argument('<namespace-pattern>', 'an existing allowlist pattern, e.g. io.github.acme')
    .requiredOption('--builder <id>', 'the SLSA builder id it may claim, e.g. https://github.com/actions/runner/github-hosted')
    .option('--public-key <file.pub>', 'the build signing public key')
    .option('--identity <san>', 'the build certificate identity, e.g. https://github.com/acme/x/.github/workflows/release.yml@refs/heads/main')
    .option('--ca <fingerprint|dir|file.crt>', 'the CA that issues the build identity\'s certificates (needed when the registry trusts several)')
    .action(async (pattern: string, opts: SignerOptions & { builder: string }) => {
      const signer = await signerOf(opts);
      const path = `/v1/allowlist/${encodeURIComponent(pattern)}`;
      const { body: entry } = await callRegistry<AllowlistEntry>(ctx, 'GET', path);
      const signers = entry.signers.map(signerBody);
      // As for allowlist add: with --ca, this builder's unbound row of the identity is replaced.
      const current = entry.builders ?? [];
      const replaced = unboundOf(current.filter((b) => b.builderId === opts.builder), signer);
      const builders = [...current.filter((b) => !replaced.includes(b)).map((b) => ({ builderId: b.builderId, ...signerBody(b) })), { builderId: opts.builder, ...signer }];
      const { body } = await callRegistry<AllowlistEntry>(ctx, 'PUT', path, { signers, builders });
      ctx.out.result(body, [`${pattern}: ${plural(body.builders.length, 'builder')}`, ...replaced.map((b) => `  replaced the unbound ${safeText(b.identity ?? '')} (it built nothing) with it under CA ${signer.ca}`)].join('\n'));
    });
  allowlist
    .command('list')
    .description('list the allowlist')
    .action(async () => {
      const { body } = await callRegistry<AllowlistList>(ctx, 'GET', '/v1/allowlist');
      // The builders are part of who is trusted in a namespace: whose provenance counts there.
      const entry = (e: (typeof body.entries)[number]) => [
        e.pattern,
        ...e.signers.map((s) => `  ${s.kind} ${s.fingerprint}`),
        ...(e.builders?.length ? e.builders.map((b) => `  builder ${safeText(b.builderId)}  ${b.kind} ${b.fingerprint}`) : ['  no builders (provenance is refused here)']),
      ];
      ctx.out.result(body, body.entries.flatMap(entry).join('\n') || 'the allowlist is empty');
    });
  allowlist
    .command('remove')
    .description('remove a namespace pattern')
    .argument('<namespace-pattern>')
    .action(async (pattern: string) => {
      await callRegistry(ctx, 'DELETE', `/v1/allowlist/${encodeURIComponent(pattern)}`);
      ctx.out.result({ removed: pattern }, `removed ${pattern}`);
    });

  const reviewer = program.command('reviewer').description('reviewers whose signed approvals count (admin)');
  reviewer
    .command('add')
    .description('bind a reviewer principal to the key or certificate identity their approvals are signed with (admin)')
    .argument('<principal>', 'the reviewer principal (the name on their tokens)')
    .option('--public-key <file.pub>', 'reviewer public key')
    .option('--identity <san>', 'reviewer certificate identity')
    .option('--ca <fingerprint|dir|file.crt>', 'the CA that issues the identity\'s certificates (needed when the registry trusts several)')
    .action(async (principal: string, opts: SignerOptions) => {
      const signer = await signerOf(opts);
      const { body } = await callRegistry<ReviewerRecord>(ctx, 'POST', '/v1/reviewers', { principal, ...signer });
      ctx.out.result(body, `reviewer ${body.principal} bound to ${body.fingerprint}`);
    });
  reviewer
    .command('list')
    .description('list reviewer principals and the keys or identities (under their CA) their approvals must be signed with')
    .action(async () => {
      const { body } = await callRegistry<ReviewerList>(ctx, 'GET', '/v1/reviewers');
      ctx.out.result(body, body.reviewers.map((r) => `${r.principal}  ${r.kind} ${safeText(r.fingerprint)}`).join('\n') || 'no reviewer is registered');
    });
  reviewer
    .command('remove')
    .description('remove a reviewer binding, or all of a principal\'s (admin); their recorded approvals stay')
    .argument('<principal>', 'the reviewer principal')
    .option('--fingerprint <fingerprint>', 'the one binding to remove, as sigil reviewer list shows it')
    .action(async (principal: string, opts: { fingerprint?: string }) => {
      const query = opts.fingerprint === undefined ? '' : `?fingerprint=${encodeURIComponent(opts.fingerprint)}`;
      const { body } = await callRegistry<ReviewerRemoved>(ctx, 'DELETE', `/v1/reviewers/${encodeURIComponent(principal)}${query}`);
      ctx.out.result(body, `removed ${plural(body.removed.length, 'binding')} of ${body.principal}`);
    });

  const tokens = program.command('token').description('API tokens (admin)');
  tokens
    .command('create')
    .description('create an API token for a principal with one role; printed once (admin)')
    .requiredOption('--principal <name>', 'who the token is for')
    .addOption(new Option('--role <role>', 'admin|security|publisher|reader').choices(['admin', 'security', 'publisher', 'reader']).makeOptionMandatory())
    .option('--namespace <pattern>', 'namespace pattern a publisher may publish in (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 1h, 7d (default 1h)')
    .action(async (opts: { principal: string; role: string; namespace: string[]; ttl?: string }) => {
      const { body } = await callRegistry<TokenCreated>(ctx, 'POST', '/v1/tokens', {
        principal: opts.principal,
        role: opts.role,
        ...(opts.namespace.length ? { namespaces: opts.namespace } : {}),
        ...(opts.ttl ? { ttlSeconds: ttlSeconds(opts.ttl) } : {}),
      });
      ctx.out.result(body, `${body.token}\n(token ${body.id} for ${opts.principal}, ${opts.role}, expires ${body.expiresAt}; shown once)`);
    });
  tokens
    .command('list')
    .description('tokens the registry issued, newest first: id, principal, role, expiry; never the secrets (admin)')
    .option('--all', 'include revoked and expired tokens', false)
    .action(async (opts: { all: boolean }) => {
      const { body } = await callRegistry<TokenList>(ctx, 'GET', '/v1/tokens');
      const shown = opts.all ? body.tokens : body.tokens.filter((t) => t.active);
      const lines = shown.map((t) => `${t.id}  ${safeText(t.principal)}  ${t.role}${t.namespaces.length ? ` (${t.namespaces.join(', ')})` : ''}  ${t.revokedAt ? `revoked ${t.revokedAt}` : t.active ? `expires ${t.expiresAt}` : `expired ${t.expiresAt}`}`);
      ctx.out.result({ tokens: shown }, lines.length ? `${lines.join('\n')}\n${plural(lines.length, opts.all ? 'token' : 'active token')}` : 'no active tokens (--all shows revoked and expired ones)');
    });
  tokens
    .command('revoke')
    .description('revoke a token by its id (16 hexadecimal digits, printed by token create and token list); it stops working at once (admin)')
    .argument('<id>', 'the token id (a whole token is taken for its id; its secret is never sent)')
    .action(async (given: string) => {
      // A whole token pasted in its place: its id, which it carries, is what is revoked, and its
      // secret is neither sent (a registry logs request paths) nor printed.
      const id = /^sigil_([0-9a-f]{16})_/.exec(given)?.[1] ?? given;
      if (!/^[0-9a-f]{16}$/.test(id)) throw new UsageError(`a token id is 16 hexadecimal digits (token create and token list print it)${given.startsWith('sigil_') ? '' : `, not ${safeText(given)}`}`);
      const { body } = await callRegistry<TokenRevoked>(ctx, 'DELETE', `/v1/tokens/${id}`);
      ctx.out.result(body, `revoked token ${body.id} at ${body.revokedAt}`);
    });

  program
    .command('whoami')
    .description('the principal, role and namespaces of your token (SIGIL_TOKEN or --token)')
    .action(async () => {
      const { body } = await callRegistry<Whoami>(ctx, 'GET', '/v1/whoami');
      ctx.out.result(body, `${body.principal} (${body.role}${body.namespaces.length ? `; namespaces ${body.namespaces.join(', ')}` : ''}) at ${registryBase(ctx)}`);
    });

  program
    .command('search')
    .description('servers in the registry whose name contains the text, with their latest version')
    .argument('[text]', 'part of a server name; none lists all')
    .addOption(new Option('--limit <n>', 'most servers shown (1 to 100)').default(30).argParser((v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new UsageError(`--limit takes a whole number from 1 to 100, not ${JSON.stringify(v)}`);
      return n;
    }))
    .action(async (text: string | undefined, opts: { limit: number }) => {
      const query = new URLSearchParams({ limit: String(opts.limit), ...(text ? { search: text } : {}) });
      const { body } = await callRegistry<ServerList>(ctx, 'GET', `/v1/servers?${query}`);
      const lines = body.servers.map((s) => `${s.name}${s.latest ? `@${s.latest.version}  ${s.latest.status}  ${s.latest.digest}` : ''}`);
      ctx.out.result(body, lines.length ? `${lines.join('\n')}\n${plural(lines.length, 'server')}${body.next ? ' (more: raise --limit or narrow the text)' : ''}` : text ? `no server name contains ${JSON.stringify(text)}` : 'the registry has no servers yet');
    });

  const audit = program.command('audit').description('the hash-chained audit log of governance events (security, admin)');
  audit
    .command('list')
    .description('audit events, oldest first')
    .addOption(new Option('--after <seq>', 'show events after this sequence number').default(0).argParser(wholeNumber('--after', 0, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option('--limit <n>', 'most events (1 to 1000)').default(100).argParser(wholeNumber('--limit', 1, 1000)))
    .action(async (opts: { after: number; limit: number }) => {
      const { body } = await callRegistry<AuditPage>(ctx, 'GET', `/v1/audit?after=${opts.after}&limit=${opts.limit}`);
      const lines = body.events.map((e) => `${String(e.seq).padStart(6)}  ${e.at}  ${safeText(e.actor)}  ${e.action}  ${safeText(e.subject)}`);
      ctx.out.result(body, lines.length ? `${lines.join('\n')}\n${plural(lines.length, 'event')}${body.next !== null ? ` (more: --after ${body.next})` : ''}` : 'no events');
    });
  audit
    .command('verify')
    .description('check the hash chain from the first event; exit 1 if it is broken')
    .action(async () => {
      const { body } = await callRegistry<AuditCheck>(ctx, 'GET', '/v1/audit/verify');
      if (!body.ok) throw new CliError('AUDIT_BROKEN', `the audit chain is broken at event ${body.brokenAt}: ${body.reason}`);
      ctx.out.result(body, `the audit chain holds: ${plural(body.events, 'event')}, head ${body.head}`);
    });

}

/** `1 of 2 approvals; needs 1 more from another reviewer`, or the decided status. */
function approvalLine(status: string, approvals: number, view: Pick<ReviewView, 'approvalsRequired' | 'risk'>): string {
  const have = `${approvals} of ${plural(view.approvalsRequired, 'approval')}`;
  if (status !== 'pending') return `${have}, status ${status}`;
  const missing = Math.max(0, view.approvalsRequired - approvals);
  return `${have}, status pending: needs ${missing} more from ${missing === 1 ? 'another reviewer' : 'other reviewers'}${view.risk === 'high' ? ' (high risk)' : ''}`;
}

/**
 * The manifest of `name@version` from its version record, refused unless it hashes to `digest` (the
 * one the review view names) and, with `status`, the version has that status (the version a review
 * compares with is the last approved one).
 */
async function reviewedManifest(ctx: Context, name: string, version: string, digest: string, status?: 'approved'): Promise<Manifest> {
  const { body } = await callRegistry<VersionRecord>(ctx, 'GET', versionPath(name, version));
  const parsed = VersionRecord.safeParse(body);
  if (!parsed.success || parsed.data.name !== name || parsed.data.version !== version || manifestDigest(parsed.data.manifest) !== digest) {
    throw new CliError('RESPONSE_INVALID', `the registry's version record for ${name}@${version} is not the manifest its review names (${digest})`);
  }
  if (status !== undefined && parsed.data.status !== status) {
    throw new CliError('RESPONSE_INVALID', `the review compares with ${name}@${version}, which is ${parsed.data.status}, not approved: run review show again`);
  }
  return parsed.data.manifest;
}

/** A tool in full, every field but its name on a line of its own (what reaches a model: descriptions, schemas, annotations). */
function toolLines(tool: Record<string, unknown>, indent: string): string[] {
  return Object.entries(tool)
    .filter(([field]) => field !== 'name')
    .flatMap(([field, value]) => (typeof value === 'string' && /[\r\n]/.test(value) ? [`${indent}${field}:`, ...textBlock(value, `${indent}  `)] : [`${indent}${field}: ${safeText(typeof value === 'string' ? value : JSON.stringify(value))}`]));
}

/**
 * Text of several lines (instructions, a description) as a reviewer reads it: one printed line per
 * line of the text, each behind `indent` and a bar, so none can pass for a line of the review's own.
 */
function textBlock(text: string, indent: string): string[] {
  return text.split(/\r\n|\r|\n/).map((line) => `${indent}| ${safeText(line)}`);
}

/** Text of one line or several: `label: text` (`- text` for a diff's side) on one line, or the label, then the text as a block. */
function labelled(label: string, text: string | undefined, indent: string): string[] {
  const head = label === '-' || label === '+' ? `${indent}${label}` : `${indent}${label}:`;
  if (text === undefined) return [`${head} (none)`];
  return /[\r\n]/.test(text) ? [head, ...textBlock(text, `${indent}  `)] : [`${head} ${safeText(text)}`];
}

/**
 * The review for people: the registry's account of the version (status, risk, approvals, signer,
 * provenance, lint findings), then what changed, computed here from `manifest` and `baseline` (the
 * checked manifests of the version and of the approved version it is compared with), every change
 * whole: added tools in full, every field and schema change of a changed tool, the instructions,
 * the pinned identity and what a host installs or connects to, before and after.
 */
function describeReview(r: ReviewView, manifest: Manifest, baseline: Manifest | undefined): string {
  const lines = [
    `${r.name}@${r.version}  ${r.status}  ${r.risk} risk`,
    `approvals  ${approvalLine(r.status, r.approvals, r)}`,
    ...r.riskReasons.map((reason) => `high risk  ${safeText(reason)}`),
    `digest     ${r.digest}`,
    `publisher  ${safeText(r.publisher)}`,
    `signer     ${safeText(r.signer.kind === 'certificate' ? `${r.signer.identity} (key ${r.signer.keyFingerprint}, CA ${r.signer.ca ?? 'unknown'})` : r.signer.keyFingerprint)}`,
    `provenance ${r.provenance ? 'attached and verified at publish' : 'none'}`,
    '',
    r.findings.length ? `findings (${r.findings.length}):\n${formatFindings(r.findings)}` : 'findings: none',
    '',
  ];
  if (!r.baseline || !baseline) {
    lines.push('diff: no earlier approved version to compare with');
    lines.push(`tools (${manifest.tools.length}), in full:`);
    for (const tool of manifest.tools) lines.push(`  tool ${safeText(tool.name)}`, ...toolLines(tool as Record<string, unknown>, '      '));
    if (manifest.instructions !== undefined) lines.push(...labelled('instructions', manifest.instructions, ''));
    // What a host holds the live server to, and what it installs or connects to.
    lines.push(`server identity ${serverIdentity(pinnedServerInfo(manifest) ?? null)}`);
    for (const [kind, list] of [['packages', manifest.packages], ['remotes', manifest.remotes]] as const) {
      if (!list?.length) continue;
      lines.push(`${kind} (what a host installs or connects to):`);
      for (const entry of list) lines.push(`  ${safeText(canonicalJson(entry))}`);
    }
    return lines.join('\n');
  }
  lines.push(`diff against approved ${safeText(r.baseline.version)} (${r.baseline.digest}):`);
  const { tools: d, instructionsChanged, serverInfoChanged, deploymentChanged: moved } = diffManifests(baseline, manifest);
  if (!d.added.length && !d.removed.length && !d.renamed.length && !d.changed.length && !instructionsChanged && !serverInfoChanged && !moved) lines.push('  no tool changes');
  for (const t of d.added) {
    lines.push(`  + tool ${safeText(t)}`);
    const tool = manifest.tools.find((x) => x.name === t);
    if (tool) lines.push(...toolLines(tool as Record<string, unknown>, '      '));
  }
  for (const t of d.removed) lines.push(`  - tool ${safeText(t)}`);
  for (const t of d.renamed) lines.push(`  ~ tool ${safeText(t.from)} renamed to ${safeText(t.to)}`);
  for (const c of d.changed) {
    lines.push(`  ~ tool ${safeText(c.name)}: ${c.fields.map(safeText).join(', ')} changed`);
    if (c.description) lines.push(...labelled('-', c.description.before, '      '), ...labelled('+', c.description.after, '      '));
    // Every change, whole: a cut value or a dropped change is text a model reads that no one saw.
    for (const ch of c.changes) lines.push(`      ${ch.op} ${safeText(ch.path)}${ch.after !== undefined ? ` = ${safeText(JSON.stringify(ch.after))}` : ''}`);
    // Fields outside the description and the schemas and annotations (a title, say): before and after whole.
    const old = baseline.tools.find((x) => x.name === c.name) as Record<string, unknown> | undefined;
    const cur = manifest.tools.find((x) => x.name === c.name) as Record<string, unknown> | undefined;
    for (const field of c.fields.filter((f) => !['description', 'inputSchema', 'outputSchema', 'annotations'].includes(f))) {
      lines.push(`      - ${safeText(field)}: ${old?.[field] === undefined ? '(none)' : safeText(JSON.stringify(old[field]))}`, `      + ${safeText(field)}: ${cur?.[field] === undefined ? '(none)' : safeText(JSON.stringify(cur[field]))}`);
    }
  }
  if (instructionsChanged) {
    lines.push('  ~ instructions changed');
    lines.push(...labelled('-', baseline.instructions, '      '), ...labelled('+', manifest.instructions, '      '));
  }
  if (serverInfoChanged) lines.push(`  ~ server identity ${serverIdentity(serverInfoChanged.before)} -> ${serverIdentity(serverInfoChanged.after)}`);
  // What a host installs or connects to: the same tools can run other code.
  for (const [kind, side] of [['packages', moved?.packages], ['remotes', moved?.remotes]] as const) {
    if (!side) continue;
    lines.push(`  ~ ${kind} changed (what a host installs or connects to):`);
    for (const entry of side.before) lines.push(`      - ${safeText(entry)}`);
    for (const entry of side.after) lines.push(`      + ${safeText(entry)}`);
  }
  return lines.join('\n');
}

/** A pinned server identity in one line (`name@version "title"`), or that none is pinned. */
function serverIdentity(info: { name: string; version: string; title?: string | undefined } | null): string {
  return info ? safeText(`${info.name}@${info.version}${info.title !== undefined ? ` ${JSON.stringify(info.title)}` : ''}`) : '(none pinned)';
}

