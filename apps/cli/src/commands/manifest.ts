import { Option, type Command } from 'commander';
import { checkManifest, checkManifestValue, LIMITS, manifestDigest, refusalCode, SERVER_INFO_META_KEY, serverNameProblem, toolsSetDigest, versionProblem, type Finding, type Manifest } from '@sigil/manifest';
import { CliError, UsageError } from '../errors.js';
import { wholeNumber } from '../whole-number.js';
import { readBounded, writeAtomic } from '../files.js';
import { introspect, type ServerTarget } from '../introspect.js';
import { formatFindings, plural, safeText } from '../output.js';
import type { Context } from '../context.js';

/** A manifest file is read with a little headroom over the limit, so the limit finding can name the size. */
const READ_LIMIT = LIMITS.manifestBytes + 1;

/** Reads and checks a manifest file; refuses it with every finding on any error. */
export async function loadManifest(path: string): Promise<{ manifest: Manifest; bytes: Uint8Array; findings: Finding[] }> {
  const bytes = await readBounded(path, READ_LIMIT, 'MANIFEST_TOO_LARGE').catch((e: unknown) => {
    if (e instanceof CliError && e.code === 'MANIFEST_TOO_LARGE') {
      const finding: Finding = { path: '', rule: 'MANIFEST_TOO_LARGE', severity: 'error', message: `the manifest is larger than ${LIMITS.manifestBytes} bytes` };
      throw new CliError('MANIFEST_TOO_LARGE', `${path}: ${finding.message}`, [finding]);
    }
    throw e;
  });
  const check = checkManifest(bytes);
  if (!check.manifest) {
    throw new CliError(refusalCode(check.findings), `${path} is not a valid manifest (${plural(check.findings.filter((f) => f.severity === 'error').length, 'error')})`, check.findings);
  }
  return { manifest: check.manifest, bytes, findings: check.findings };
}

export function registerManifest(program: Command, ctx: Context): void {
  const manifest = program.command('manifest').description('build, check and digest Sigil manifests (sigil.json)');

  manifest
    .command('check')
    .description('check a manifest against the format and the limits; exit 1 on any error')
    .argument('<file>', 'manifest file')
    .action(async (file: string) => {
      const bytes = await readBounded(file, READ_LIMIT, 'MANIFEST_TOO_LARGE').catch((e: unknown) => {
        if (e instanceof CliError && e.code === 'MANIFEST_TOO_LARGE') return new Uint8Array(READ_LIMIT + 1);
        throw e;
      });
      const check = checkManifest(bytes);
      // The same descriptor lint the registry runs at publish, before a publisher ever pushes.
      const { lintManifest } = await import('@sigil/lint');
      const lint = check.manifest ? lintManifest(check.manifest) : [];
      const findings: Finding[] = [...check.findings, ...lint];
      const errors = findings.filter((f) => f.severity === 'error').length;
      const warnings = findings.filter((f) => f.severity === 'warning').length;
      const ok = errors === 0;
      const summary = `${file}: ${ok ? 'ok' : 'refused'} (${plural(errors, 'error')}, ${plural(warnings, 'warning')})`;
      const code = ok ? undefined : check.manifest ? 'LINT_BLOCKED' : refusalCode(findings);
      // A refusal also carries the shape every refusal has under --json (README: `{"error":{"code","message"}}`).
      const error = code === undefined ? undefined : { code, message: check.manifest ? `${file} has lint findings that block publishing (${plural(errors, 'error')})` : `${file} is not a valid manifest (${plural(errors, 'error')})` };
      const result = { file, ok, code, ...(error ? { error } : {}), digest: check.manifest ? manifestDigest(check.manifest) : undefined, findings, lint };
      ctx.out.result(result, findings.length ? `${formatFindings(findings)}\n${summary}` : summary);
      ctx.exitCode = ok ? 0 : 1;
    });

  manifest
    .command('digest')
    .description('print the manifest digest, sha256:<hex> over its RFC 8785 canonical JSON')
    .argument('<file>', 'manifest file')
    .action(async (file: string) => {
      const { manifest: m } = await loadManifest(file);
      const digest = manifestDigest(m);
      ctx.out.result({ name: m.name, version: m.version, digest, toolsDigest: toolsSetDigest(m.tools) }, digest);
    });

  manifest
    .command('init')
    .description('introspect a real MCP server (stdio command after --, or --url) and write its manifest')
    .requiredOption('--name <name>', 'server name <namespace>/<name>, e.g. io.github.acme/weather')
    .requiredOption('--version <version>', 'exact SemVer version of this manifest')
    .option('--description <text>', 'one-line description (at most 100 characters)')
    .option('--url <url>', 'URL of a running MCP server (streamable HTTP, or the older HTTP+SSE), instead of a command')
    .option('--out <file>', 'write the manifest here instead of standard output')
    .option('--capable-host', 'introspect as a host declaring every capability (roots, sampling, elicitation, tasks): pins the tools such a host is shown, which a host declaring none is then not')
    .addOption(new Option('--timeout <ms>', 'longest wait for the server, in milliseconds (at most a day)').default(30_000).argParser(wholeNumber('--timeout', 1, 86_400_000)))
    .argument('[command...]', 'stdio server command and its arguments, after --')
    .action(async (command: string[], opts: { name: string; version: string; description?: string; url?: string; out?: string; timeout: number; capableHost?: boolean }) => {
      if (opts.url && command.length > 0) throw new UsageError('give either --url or a command after --, not both');
      if (!opts.url && command.length === 0) throw new UsageError('give the server command after -- (e.g. -- npx -y @modelcontextprotocol/server-everything), or --url');
      const nameProblem = serverNameProblem(opts.name);
      if (nameProblem) throw new CliError('NAME_INVALID', nameProblem);
      const problem = versionProblem(opts.version);
      if (problem) throw new CliError('VERSION_INVALID', problem);

      const target: ServerTarget = opts.url ? { url: opts.url } : { command: command[0]!, args: command.slice(1) };
      const stop = ctx.out.progress(`waiting for the MCP server (${opts.url ?? command[0]}): initialize and tools/list`);
      const seen = await introspect(target, opts.timeout, ctx.env, opts.capableHost === true).finally(stop);
      // One line per dropped field, not per tool: `execution` from 13 tools reads as one fact.
      const byField = new Map<string, string[]>();
      for (const d of seen.dropped) {
        const dot = d.lastIndexOf('.');
        const list = byField.get(d.slice(dot + 1)) ?? [];
        list.push(d.slice(0, dot));
        byField.set(d.slice(dot + 1), list);
      }
      for (const [field, tools] of byField) {
        const shown = tools.slice(0, 3).map(safeText).join(', ');
        ctx.out.note(`note: left out the ${safeText(field)} field of ${plural(tools.length, 'tool')} (${shown}${tools.length > 3 ? ', …' : ''}): not part of the manifest format`);
      }
      if (seen.probeRanOut !== undefined) {
        ctx.out.note(`note: the server was read in the 2025 era after its server/discover probe (MCP 2026-07-28) ran for ${seen.probeRanOut.ms} ms, all of the ${seen.probeRanOut.limitMs} ms it may take (half of --timeout, at most 15 s); a server that offers 2026-07-28 but starts slowly is read in the 2025 era so: if this one does, run init again with a longer --timeout`);
      }
      const description = (opts.description ?? (seen.serverInfo?.title || (seen.serverInfo ? `MCP server ${seen.serverInfo.name} ${seen.serverInfo.version}` : `MCP server ${opts.name}`))).slice(0, 100);
      const doc: Record<string, unknown> = {
        $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
        name: opts.name,
        description,
        version: opts.version,
        ...(opts.url ? { remotes: [{ type: seen.remote ?? 'streamable-http', url: opts.url }] } : {}),
        // The identity the server gave, pinned: `sigil run` holds the live server to it.
        ...(seen.serverInfo ? { _meta: { [SERVER_INFO_META_KEY]: seen.serverInfo } } : {}),
        ...(seen.instructions !== undefined ? { instructions: seen.instructions } : {}),
        tools: seen.tools,
      };
      const check = checkManifestValue(doc);
      if (!check.manifest) {
        throw new CliError(refusalCode(check.findings), `the server's tools do not make a valid manifest (${plural(check.findings.length, 'finding')}); nothing was written`, check.findings);
      }
      const text = `${JSON.stringify(check.manifest, null, 2)}\n`;
      const digest = manifestDigest(check.manifest);
      if (opts.out) {
        await writeAtomic(opts.out, text);
        ctx.out.result({ file: opts.out, name: opts.name, version: opts.version, digest, tools: seen.tools.map((t) => t.name), protocol: seen.protocol }, `wrote ${opts.out}: ${plural(seen.tools.length, 'tool')}, ${digest} (MCP ${seen.protocol.version ?? 'unknown'}, ${seen.protocol.era} era)`);
      } else if (ctx.out.json) {
        ctx.out.result(check.manifest, '');
      } else {
        ctx.out.raw(text);
      }
    });
}
