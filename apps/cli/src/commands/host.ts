// node:fs's `promises` read where used, not imported by name: a bundle (the packed CLI) then loads
// Node's fs/promises only when a write happens, never on a warm offline start (see docs/resolver.md).
import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { basename, dirname, join, relative, resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { diffTools, isEmptyDiff, KeysResponse, parseReference, serverNameProblem, type Manifest, type ToolsDiff } from '@sigil/manifest';
import { DEFAULT_FETCH_LIMITS, fetchJson, HostTrustStore, httpRefusal, loadPolicy, ResolveError, userSealKey, writeJsonAtomic, type PolicyFile, type TrustPolicy } from '@sigil/resolver';
import { certificateFingerprint, CertificateIdentity, Fingerprint, publicKeyFingerprint, trustedLogs, TrustedRootJson } from '@sigil/signing/verify';
import type { Context } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { wholeNumber } from '../whole-number.js';
import { requireFile, writeAtomic } from '../files.js';
import { registryBase } from '../http.js';
import { plural, safeText } from '../output.js';

const DEFAULT_POLICY = 'sigil.policy.json';
const DEFAULT_LOCKFILE = 'sigil.lock.json';

export function registerHost(program: Command, ctx: Context): void {
  const policy = program.command('policy').description("the host's trust policy, sigil.policy.json");
  policy
    .command('init')
    .description("fetch and pin the registry's status key and trusted root; print their fingerprints to compare out of band")
    .requiredOption('--out <file>', 'policy file to write (the pinned files go beside it)')
    .option('--publisher <pattern=signer>', 'allow a signer for a namespace pattern: <pattern>=<file.pub> or <pattern>=<mailto:…|https://…> (repeatable)', collect, [])
    .option('--reviewer <signer>', 'count approvals by this reviewer: <file.pub> or <mailto:…|https://…> (repeatable)', collect, [])
    .addOption(new Option('--threshold <n>', 'approvals needed for a low-risk version').default(1).argParser(wholeNumber('--threshold', 1, 16)))
    .addOption(new Option('--high-risk-threshold <n>', 'approvals needed for a high-risk version').default(2).argParser(wholeNumber('--high-risk-threshold', 1, 16)))
    .addOption(new Option('--max-status-age <seconds>', 'longest accepted age of a signed status').default(86_400).argParser(wholeNumber('--max-status-age', 1, 30 * 86_400)))
    .addOption(new Option('--offline-max-status-age <seconds>', 'opt in to a fallback on the stored status when the registry cannot be reached, up to this age (at most 3600)').argParser(wholeNumber('--offline-max-status-age', 1, 3600)))
    .addOption(new Option('--live-tools <mode>', "how sigil run holds a live server's tools to the pin: exact, or pinned-subset (it may leave pinned tools out, for servers that show a host tools by its capabilities; every tool shown is still held exactly)").choices(['exact', 'pinned-subset']).default('exact'))
    .option('--force', 'overwrite an existing policy file', false)
    .action(async (opts: { out: string; publisher: string[]; reviewer: string[]; threshold: number; highRiskThreshold: number; maxStatusAge: number; offlineMaxStatusAge?: number; liveTools: 'exact' | 'pinned-subset'; force: boolean }) => {
      const registry = registryBase(ctx);
      if (existsSync(opts.out) && !opts.force) throw new CliError('FILE_EXISTS', `${opts.out} exists; pass --force to overwrite it`);
      if (opts.highRiskThreshold < opts.threshold) throw new UsageError('--high-risk-threshold must be at least --threshold');
      const token = ctx.globals().token;
      const rootAnswer = await fetchJson(`${registry}/v1/trusted-root`, { token }, DEFAULT_FETCH_LIMITS);
      if (rootAnswer.status !== 200) throw httpRefusal('', `${registry}/v1/trusted-root`, rootAnswer);
      const root = TrustedRootJson.safeParse(rootAnswer.json);
      if (!root.success) throw new CliError('RESPONSE_INVALID', 'the registry trusted root is not a Sigstore trusted_root.json');
      const keysAnswer = await fetchJson(`${registry}/v1/keys`, { token }, DEFAULT_FETCH_LIMITS);
      if (keysAnswer.status !== 200) throw httpRefusal('', `${registry}/v1/keys`, keysAnswer);
      const keys = KeysResponse.safeParse(keysAnswer.json);
      if (keysAnswer.status !== 200 || !keys.success) throw new CliError('RESPONSE_INVALID', `GET /v1/keys did not answer with the registry keys (HTTP ${keysAnswer.status})`);
      const statusKey = keys.data.keys.find((k) => k.use === 'status')!;
      const fingerprint = publicKeyFingerprint(statusKey.publicKey);
      if (fingerprint !== statusKey.fingerprint) throw new CliError('RESPONSE_INVALID', `the registry states fingerprint ${statusKey.fingerprint} for a key whose fingerprint is ${fingerprint}`);

      const dir = dirname(resolvePath(opts.out));
      await fsp.mkdir(dir, { recursive: true });
      const rootFile = resolvePath(dir, 'sigil.registry.trusted_root.json');
      const keyFile = resolvePath(dir, 'sigil.registry.status.pub');
      await writeJsonAtomic(rootFile, root.data);
      await writeAtomic(keyFile, statusKey.publicKey);

      const rel = (p: string) => relative(dir, resolvePath(p)) || '.';
      // Identities are bound to the CA that must issue them, as the registry binds its own.
      const authorities = (root.data.certificateAuthorities ?? []).map((ca) => ca.certChain.certificates.map((c) => certificateFingerprint(Buffer.from(c.rawBytes, 'base64'))));
      const bindCa = (identity: string, ca: string | undefined): string => {
        if (ca !== undefined) {
          if (!authorities.some((chain) => chain.includes(ca))) throw new UsageError(`${ca} is no CA of the registry's trusted root; name one that sigil policy init lists`);
          return ca;
        }
        if (authorities.length === 1) return authorities[0]![0]!;
        if (authorities.length === 0) throw new UsageError(`the registry trusts no CA, so no certificate of ${identity} can verify; register the CA first (sigil ca register)`);
        throw new UsageError(`the registry trusts ${authorities.length} CAs; name the one that issues ${identity}'s certificates: '${identity} SHA256:…'`);
      };
      const publishers = new Map<string, { namespace: string; publicKeys: string[]; identities: Array<{ identity: string; ca: string }> }>();
      for (const spec of opts.publisher) {
        const eq = spec.indexOf('=');
        if (eq <= 0) throw new UsageError(`--publisher takes <pattern>=<file.pub|identity>, not ${JSON.stringify(spec)}`);
        const namespace = spec.slice(0, eq);
        const entry = publishers.get(namespace) ?? { namespace, publicKeys: [], identities: [] };
        addSigner(entry, spec.slice(eq + 1), rel, bindCa);
        publishers.set(namespace, entry);
      }
      const reviewers = { publicKeys: [] as string[], identities: [] as Array<{ identity: string; ca: string }>, threshold: opts.threshold, highRiskThreshold: opts.highRiskThreshold };
      for (const spec of opts.reviewer) addSigner(reviewers, spec, rel, bindCa);
      const file: PolicyFile = {
        policyVersion: 1,
        registry: { url: registry, trustedRoot: rel(rootFile), statusKey: rel(keyFile), statusKeyFingerprint: fingerprint },
        publishers: [...publishers.values()],
        reviewers,
        maxStatusAgeSeconds: opts.maxStatusAge,
        ...(opts.offlineMaxStatusAge !== undefined ? { offline: { maxStatusAgeSeconds: opts.offlineMaxStatusAge } } : {}),
        // Written out, so whoever reviews the policy sees the choice (docs/resolver.md).
        liveTools: opts.liveTools,
      };
      // An empty trust policy is valid but refuses everything: say so rather than let lock fail later.
      if (publishers.size === 0) ctx.out.note('warning: the policy trusts no publisher, so every server will be refused (SIGNER_UNTRUSTED); add --publisher <namespace>=<file.pub|identity>');
      if (reviewers.publicKeys.length === 0 && reviewers.identities.length === 0) ctx.out.note('warning: the policy counts no reviewer, so every server will be refused (NOT_APPROVED); add --reviewer <file.pub|identity>');
      else if (reviewers.publicKeys.length + reviewers.identities.length < opts.highRiskThreshold) ctx.out.note(`warning: the policy counts ${plural(reviewers.publicKeys.length + reviewers.identities.length, 'reviewer')} but a high-risk version needs ${opts.highRiskThreshold} approvals (--high-risk-threshold), so high-risk servers will be refused (NOT_APPROVED)`);
      // Read back through the resolver before it takes the policy's place: a refused policy (a key
      // file that is no P-256 public key) leaves no file behind, nor replaces the one --force names.
      const out = resolvePath(opts.out);
      const draft = join(dir, `.${basename(out)}.${process.pid}.draft`);
      await writeJsonAtomic(draft, file);
      try {
        await loadPolicy(draft);
      } catch (e) {
        await fsp.rm(draft, { force: true });
        throw e instanceof ResolveError ? new CliError(e.code, e.message.replaceAll(draft, out)) : e;
      }
      await fsp.rename(draft, out);
      const cas = (root.data.certificateAuthorities ?? []).flatMap((ca) => ca.certChain.certificates.slice(0, 1).map((c) => ({ subject: ca.subject?.commonName ?? '', fingerprint: certificateFingerprint(Buffer.from(c.rawBytes, 'base64')) })));
      const tsas = (root.data.timestampAuthorities ?? []).flatMap((ca) => ca.certChain.certificates.slice(0, 1).map((c) => ({ subject: ca.subject?.commonName ?? '', fingerprint: certificateFingerprint(Buffer.from(c.rawBytes, 'base64')) })));
      // The transparency log: whether one is checked at all is the root's to say, so its key is
      // compared out of band like the rest (a root that drops the log, or names another key, shows).
      const checkable = new Set(trustedLogs(root.data).map((log) => log.logId.toString('base64')));
      const logs = (root.data.tlogs ?? []).map((log) => ({ baseUrl: log.baseUrl ?? '', fingerprint: logKeyFingerprint(log.publicKey.rawBytes), checked: checkable.has(log.logId.keyId) }));
      if (!logs.some((log) => log.checked)) ctx.out.note(`warning: the registry's trusted root lists ${logs.length === 0 ? 'no transparency log' : 'no transparency log Sigil can check (an Ed25519 key and a base URL)'}, so no log inclusion is required of its records; if the operator runs one, this root is not theirs`);
      ctx.out.result(
        { policy: opts.out, registry, statusKey: { file: keyFile, fingerprint }, trustedRoot: { file: rootFile, certificateAuthorities: cas, timestampAuthorities: tsas, transparencyLogs: logs } },
        [
          `wrote ${opts.out}, pinning ${registry}, and beside it the two files it names:`,
          `  ${relative(process.cwd(), rootFile) || rootFile}  the registry's trusted root (CAs and timestamp authorities)`,
          `  ${relative(process.cwd(), keyFile) || keyFile}  the registry's status key`,
          `status key      ${fingerprint}`,
          ...cas.map((c) => `CA              ${c.fingerprint}  ${safeText(c.subject)}`),
          ...tsas.map((c) => `timestamp auth. ${c.fingerprint}  ${safeText(c.subject)}`),
          ...logs.map((l) => `log             ${l.fingerprint}  ${safeText(l.baseUrl)}${l.checked ? '' : '  (not checked: Sigil checks Ed25519 logs with a base URL)'}`),
          'Compare these fingerprints with the registry operator through another channel before you trust them.',
        ].join('\n'),
      );
    });

  program
    .command('lock')
    .description('pin exact versions after full verification (sigil lock <ref>…), or move pinned servers to their newest approved version (--update <name>…)')
    .argument('[refs...]', 'references <name>@<version> to pin, or names with --update')
    .option('--update', 'move each named server to its newest approved version', false)
    .option('--allow-downgrade', 'allow pinning a lower version than the locked one', false)
    .option('--policy <file>', 'trust policy', DEFAULT_POLICY)
    .option('--lockfile <file>', 'lockfile', DEFAULT_LOCKFILE)
    .action(async (refs: string[], opts: { update: boolean; allowDowngrade: boolean; policy: string; lockfile: string }) => {
      if (refs.length === 0) throw new UsageError(opts.update ? 'name the servers to update' : 'name at least one reference <name>@<version>');
      if (opts.update) {
        for (const arg of refs) {
          if (arg.includes('@')) throw new UsageError(`--update takes server names and finds their newest approved version: sigil lock --update ${arg.slice(0, arg.lastIndexOf('@'))} (or pin an exact version with sigil lock ${arg})`);
          const problem = serverNameProblem(arg);
          if (problem) throw new CliError('NAME_INVALID', problem);
        }
      }
      const wanted = opts.update ? [] : refs.map((r) => parseReference(r));
      const store = new HostTrustStore({ policy: await load(opts.policy), lockfile: opts.lockfile, token: ctx.globals().token, sealKey: userSealKey({ env: ctx.env, scope: ctx.build }) });
      const accepted = opts.update ? await store.update(refs, { allowDowngrade: opts.allowDowngrade }) : await store.lock(wanted, { allowDowngrade: opts.allowDowngrade });
      const described = accepted.map(({ previousManifest, ...a }) => ({ ...a, ...(previousManifest ? { diff: diffTools(previousManifest.tools, a.manifest.tools) } : {}) }));
      ctx.out.result(
        { lockfile: opts.lockfile, pinned: described.map(({ manifest: _m, ...rest }) => rest) },
        described.map((a) => [`pinned ${a.name}@${a.version} ${a.digest}${a.previous ? ` (was ${a.previous})` : ''}`, `  signer ${a.signer}, ${plural(a.approvals.length, 'approval')}, ${a.risk} risk`, ...(a.diff ? describeDiff(a.diff) : [])].join('\n')).join('\n'),
      );
    });

  program
    .command('resolve')
    .description('verify every locked server against the policy (signatures, approvals, pins, signed status, and the transparency log when the pinned trusted root lists one); exit 1 on any refusal')
    .option('--policy <file>', 'trust policy', DEFAULT_POLICY)
    .option('--lockfile <file>', 'lockfile', DEFAULT_LOCKFILE)
    .option('--offline', 'verify from the local cache only, without the network', false)
    .addOption(new Option('--timeout <ms>', 'longest wait for the registry').default(10_000).argParser(wholeNumber('--timeout', 100, 300_000)))
    .action(async (opts: { policy: string; lockfile: string; offline: boolean; timeout: number }) => {
      const trust = await load(opts.policy);
      requireLockfile(opts.lockfile);
      // process.hrtime, not performance.now(): the global `performance` loads perf_hooks and
      // eight more of Node's modules on first use, for one subtraction.
      const started = process.hrtime.bigint();
      const store = new HostTrustStore({ policy: trust, lockfile: opts.lockfile, token: ctx.globals().token, sealKey: userSealKey({ env: ctx.env, scope: ctx.build }), limits: { timeoutMs: opts.timeout }, onWarning: (line) => ctx.out.error(`${line}\n`) });
      const { servers, statusSource, statusIssuedAt } = await store.resolve({ offline: opts.offline });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.out.result(
        { ok: true, offline: opts.offline, statusSource, statusIssuedAt, servers: servers.map(({ manifest, ...rest }) => ({ ...rest, tools: manifest.tools.map((t) => t.name) })), ms: Math.round(ms) },
        servers.length
          ? `${servers.map((s) => `ok ${s.name}@${s.version} ${s.digest} (${plural(s.manifest.tools.length, 'tool')}, ${s.risk} risk)`).join('\n')}\nresolved ${plural(servers.length, 'server')}${statusSource === 'offline' ? ' offline, from the cache' : statusSource === 'fallback' ? ' from the stored status (registry unreachable)' : ''} in ${Math.round(ms)} ms`
          : 'the lockfile pins no servers',
      );
    });

  program
    .command('run')
    .description('MCP stdio proxy: start the locked server and pass nothing until its live tools match the pinned manifest')
    .argument('<name>', 'locked server name')
    .argument('<command...>', 'the server command and its arguments, after --')
    .option('--policy <file>', 'trust policy', DEFAULT_POLICY)
    .option('--lockfile <file>', 'lockfile', DEFAULT_LOCKFILE)
    .option('--offline', 'verify from the local cache only', false)
    .action(async (name: string, command: string[], opts: { policy: string; lockfile: string; offline: boolean }) => {
      // Through the command's own stderr (redacted, and in order with its other lines: stdio.ts).
      const log = (event: Record<string, unknown>) => ctx.out.error(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
      let manifest: Manifest;
      let allowMissingTools = false;
      // The server's FIFOs (server-pipes.ts) are made while the pin is verified: `mkfifo` runs as
      // a child process, a few milliseconds that need not add to the start.
      const pipesMade = import('../proxy/server-pipes.js').then(
        ({ serverPipes }) => serverPipes(),
        () => undefined,
      );
      try {
        requireLockfile(opts.lockfile);
        // The store decides about the registry being down: a fallback to the stored status only on
        // a network failure, only when the policy opts in, and with one warning line.
        const policy = await load(opts.policy);
        allowMissingTools = policy.liveTools === 'pinned-subset';
        const store = new HostTrustStore({ policy, lockfile: opts.lockfile, token: ctx.globals().token, sealKey: userSealKey({ env: ctx.env, scope: ctx.build }), onWarning: (line) => log({ level: 'warn', event: 'sigil.run.offline', message: line }) });
        const { servers } = await store.resolve({ names: [name], offline: opts.offline });
        manifest = servers[0]!.manifest;
      } catch (e) {
        const code = e instanceof ResolveError || e instanceof CliError ? e.code : 'INTERNAL';
        const message = (e as Error).message;
        log({ level: 'error', event: 'sigil.run.refused', code, server: name, message, ...(e instanceof ResolveError ? { refusals: e.refusals } : {}) });
        void pipesMade.then((pipes) => pipes?.close());
        ctx.exitCode = await refuseHost(code, message.includes(name) ? message : `${name} was refused: ${message}`);
        return;
      }
      // Loaded only here: resolve and lock at host start-up do not pay for the proxy.
      const [{ runGuardProxy }, { isPipeOrSocket }, pipes] = await Promise.all([import('../proxy/guard-proxy.js'), import('../proxy/fd-io.js'), pipesMade]);
      // A host speaks to `sigil run` over pipes (or sockets): those are read and written directly,
      // which costs the proxy less CPU per message than process.stdin and process.stdout.
      const input = isPipeOrSocket(0) ? 0 : process.stdin;
      const output = isPipeOrSocket(1) ? 1 : process.stdout;
      ctx.exitCode = await runGuardProxy({ manifest, command: command[0]!, args: command.slice(1), input, output, log, logBacklog: ctx.out.errorBacklog, allowMissingTools, ...(pipes ? { pipes } : {}) });
    });
}

/**
 * When the server cannot be trusted, still speak MCP to the host: answer each request with an
 * error naming the refusal code, so the host shows why, then exit 1 (after at most 10 s, or when
 * the host closes our input).
 */
async function refuseHost(code: string, message: string): Promise<number> {
  // A pipe or socket is written through a socket of our own, which (unlike process.stdout) can be
  // closed with answers still waiting in it.
  const { fdWriter, isPipeOrSocket } = await import('../proxy/fd-io.js');
  const out: NodeJS.WritableStream & { writableLength: number; destroy(): void } = isPipeOrSocket(1) ? fdWriter(1) : process.stdout;
  out.on('error', () => undefined);
  return new Promise((done) => {
    let buffered = '';
    let finished = false;
    // At the 10 s end, answers the host has not read are dropped, whether or not it closed its
    // input before: the process would otherwise wait for ever on a host that never reads.
    const drop = (): void => {
      if (out.writableLength > 0) out.destroy();
    };
    const finish = (late: boolean) => {
      if (late) drop();
      if (finished) return;
      finished = true;
      // Closed, not paused: a host still writing would keep an open stdin (and the process) alive.
      process.stdin.destroy();
      // The timer stays only while answers wait (it drops them at 10 s); once they are written, it goes.
      if (late || out.writableLength === 0) clearTimeout(timer);
      else out.once('drain', () => clearTimeout(timer));
      done(1);
    };
    const timer = setTimeout(() => finish(true), 10_000);
    process.stdin.on('data', (chunk: Buffer) => {
      buffered = (buffered + chunk.toString('utf8')).slice(-1024 * 1024);
      let nl: number;
      let full = false;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const m = JSON.parse(line) as { id?: unknown; method?: unknown };
          if (m.method !== undefined && m.id !== undefined) full = !out.write(`${JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32001, message: `${code}: ${message}`, data: { code } } })}\n`);
        } catch {
          // not JSON: nothing to answer
        }
      }
      // A host that writes requests without reading the answers is not read either meanwhile, so
      // the answers waiting for it stay bounded.
      if (full && !finished) {
        process.stdin.pause();
        out.once('drain', () => finished || process.stdin.resume());
      }
    });
    process.stdin.on('end', () => finish(false));
    process.stdin.on('error', () => finish(false));
    out.on('error', () => finish(false));
  });
}

async function load(path: string): Promise<TrustPolicy> {
  await requireFile(path, 'the trust policy', `create it with sigil policy init --out ${path} (or pass --policy <file>)`);
  return loadPolicy(path);
}

/** Resolving needs a lockfile: a missing one says how to make it, not ENOENT. */
function requireLockfile(path: string): void {
  if (!existsSync(path)) throw new CliError('NOT_LOCKED', `there is no lockfile ${path}: run sigil lock <name>@<version> first (or pass --lockfile <file>)`);
}

/**
 * A `--publisher`/`--reviewer` signer: a public key file, or a certificate identity, optionally
 * followed by a space and the `SHA256:` fingerprint of its CA (the registry's form); without it,
 * the trusted root's only CA (`bindCa` refuses when there are several).
 */
function addSigner(into: { publicKeys: string[]; identities: Array<{ identity: string; ca: string }> }, spec: string, rel: (p: string) => string, bindCa: (identity: string, ca: string | undefined) => string): void {
  const [identity, ca, ...rest] = spec.trim().split(/\s+/);
  if (identity !== undefined && CertificateIdentity.safeParse(identity).success && rest.length === 0) {
    if (ca !== undefined && !Fingerprint.safeParse(ca).success) throw new UsageError(`${JSON.stringify(ca)} is not a CA fingerprint: write '<identity> SHA256:<base64>'`);
    into.identities.push({ identity, ca: bindCa(identity, ca) });
  } else {
    if (!existsSync(spec)) throw new CliError('FILE_NOT_FOUND', `${spec} is neither a certificate identity (mailto:… or https://…) nor an existing public key file; make a key pair with sigil keygen --out <file>`);
    into.publicKeys.push(rel(spec));
  }
}

function describeDiff(diff: ToolsDiff): string[] {
  if (isEmptyDiff(diff)) return ['  tools unchanged'];
  return [
    ...diff.added.map((t) => `  + tool ${t}`),
    ...diff.removed.map((t) => `  - tool ${t}`),
    ...diff.renamed.map((r) => `  ~ tool ${r.from} renamed to ${r.to}`),
    ...diff.changed.flatMap((c) => [`  ~ tool ${c.name}: ${c.fields.join(', ')} changed`, ...(c.description ? [`      description: ${safeText(c.description.before)}`, `               -> ${safeText(c.description.after)}`] : [])]),
  ];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}


/** `SHA256:<base64>` of a log's public key (DER SubjectPublicKeyInfo, as a trusted root holds it), as `sigil keys init` prints it; `unreadable` when it is no key. */
function logKeyFingerprint(rawBytes: string): string {
  try {
    const spki = createPublicKey({ key: Buffer.from(rawBytes, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' });
    return `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
  } catch {
    return 'unreadable';
  }
}
