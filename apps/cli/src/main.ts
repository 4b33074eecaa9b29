import { Command, CommanderError, Help, Option } from 'commander';
import { ManifestError } from '@sigil/manifest';
import { ResolveError } from '@sigil/resolver';
import { SigningError } from '@sigil/signing/verify';
import { asksVersion, commandGroupsFor, type CommandGroup } from './command-groups.js';
import type { Context } from './context.js';
import { decorateHelp } from './help.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { createOutput, formatFindings, safeText, type Output } from './output.js';
import { stdioSink, type TextSink } from './stdio.js';
import { readTokenFile, TOKEN_FLAG_WARNING } from './token-source.js';
import { VERSION } from './version.js';

export { VERSION };

/** Where `main` reads and writes: the process's own streams and environment unless a test gives its own. */
export interface MainIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** Reads all of stdin, for `--token-file -` (process stdin unless a test gives its own). */
  stdin?: () => string;
}

const EXAMPLES = `
Examples:
  sigil keygen --out publisher.key
  sigil manifest init --name io.github.acme/everything --version 1.0.0 --out sigil.json -- mcp-server-everything
  sigil sign sigil.json --key publisher.key --out sigil.bundle.json
  sigil publish sigil.json --bundle sigil.bundle.json
  sigil lock io.github.acme/everything@1.0.0 && sigil resolve
  sigil run io.github.acme/everything -- mcp-server-everything

Environment:
  SIGIL_REGISTRY  the registry URL (same as --registry)
  SIGIL_TOKEN     your API token (same as --token; never printed)

Exit codes: 0 success, 1 refused, invalid or failed, 2 wrong usage.
Every command has --help with examples: sigil <command> --help`;

/**
 * Runs `sigil` with the given arguments and returns the exit code: 0 success, 1 refused,
 * invalid or failed, 2 wrong usage. Never throws and never calls `process.exit`, so tests call it
 * in-process and the process ends only when every child and handle is closed.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[], io: MainIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  // Belt and braces: whatever a message echoes (a mistyped command, an option value), the token
  // in use is never printed; it reads [redacted] instead.
  const secrets = knownSecrets(argv, env);
  const stdout = redacting(io.stdout ?? stdioSink(1), secrets);
  const stderr = redacting(io.stderr ?? stdioSink(2), secrets);
  const json = argv.includes('--json');
  const fieldAt = argv.indexOf('--field');
  const field = fieldAt >= 0 && fieldAt < (argv.includes('--') ? argv.indexOf('--') : argv.length) ? argv[fieldAt + 1] : undefined;
  const out = createOutput({ json, field, stdout, stderr });
  const program = new Command('sigil');
  let warnedToken = false;
  let fileToken: string | undefined;
  const ctx: Context = {
    out,
    exitCode: EXIT.ok,
    build: `sigil@${VERSION}`,
    // The token and registry come from the environment here, never as commander defaults:
    // a default is printed by --help, and a token must never be printed.
    globals: () => {
      const o = program.opts<{ registry?: string; token?: string; tokenFile?: string; json: boolean }>();
      const registry = o.registry ?? (env.SIGIL_REGISTRY || undefined);
      if (o.token !== undefined && o.tokenFile !== undefined) throw new UsageError('give --token or --token-file, not both');
      if (o.token !== undefined && !warnedToken) {
        warnedToken = true;
        stderr.write(TOKEN_FLAG_WARNING);
      }
      if (o.tokenFile !== undefined && fileToken === undefined) {
        fileToken = readTokenFile(o.tokenFile, io.stdin);
        if (fileToken) secrets.push(fileToken);
      }
      const token = o.token ?? fileToken ?? (env.SIGIL_TOKEN || undefined);
      return { json: o.json || field !== undefined, ...(registry ? { registry } : {}), ...(token ? { token } : {}) };
    },
    env,
  };
  program
    .name('sigil')
    .usage('<command> [options]')
    .description('Sigil: signed, reviewed MCP tool manifests for publishers, reviewers and agent hosts')
    .option('--registry <url>', 'registry URL (env SIGIL_REGISTRY)')
    .option('--token <token>', 'API token (env SIGIL_TOKEN); never printed; visible in the process list, prefer --token-file')
    .option('--token-file <file>', 'read the API token from the first line of <file>, or from stdin with -')
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .option('--field <path>', 'print one field of the JSON result (e.g. token, servers.0.digest); strings print bare')
    .helpCommand('help [command]', 'show help for a command')
    .helpOption('-h, --help', 'show help for a command')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run sigil --help, or sigil <command> --help, for usage and examples)')
    .exitOverride()
    .configureHelp(HELP)
    .configureOutput({ writeErr: (s) => stderr.write(s), writeOut: (s) => stdout.write(s), outputError: (s, write) => write(usageLine(s)) });
  // `--version` before any command: commander's own version option would also take
  // `manifest init --version 1.0.0`, so it is handled here,
  // before any command group is loaded (it needs none).
  if (asksVersion(argv)) {
    out.result({ version: VERSION }, VERSION);
    return EXIT.ok;
  }
  for (const register of await commandGroups(argv)) register(program, ctx);
  for (const cmd of allCommands(program)) {
    decorateHelp(cmd);
    cmd.exitOverride().showHelpAfterError(`(run ${commandPath(cmd)} --help for usage and examples)`).configureHelp(HELP).configureOutput({ writeErr: (s) => stderr.write(s), writeOut: (s) => stdout.write(s), outputError: (s, write) => write(usageLine(s)) });
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    return report(e, out);
  }
}

/** The token values this run knows: SIGIL_TOKEN and --token (the --token-file one is added when read). */
function knownSecrets(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const found = [env.SIGIL_TOKEN ?? ''];
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === '--token') found.push(argv[i + 1] ?? '');
    else if (argv[i]!.startsWith('--token=')) found.push(argv[i]!.slice('--token='.length));
  }
  // A very short value would redact ordinary words; tokens are long.
  return found.filter((t) => t.length >= 8);
}

/** A sink that writes through to `target` with every secret replaced by [redacted]. */
function redacting(target: TextSink, secrets: string[]): TextSink {
  return {
    write(text: string) {
      for (const secret of secrets) text = text.split(secret).join('[redacted]');
      return target.write(text);
    },
    // Progress shows only on a terminal: the target's answer, asked when needed.
    get isTTY() {
      return target.isTTY === true;
    },
    ...(target.backlogBytes && target.whenDrained ? { backlogBytes: () => target.backlogBytes!(), whenDrained: (callback: () => void) => target.whenDrained!(callback) } : {}),
    ...(target.backlogMark ? { backlogMark: () => target.backlogMark!() } : {}),
  };
}

/** Help that marks required options `(required)` and never shows an option's default taken from the environment. */
const HELP: Partial<Help> = {
  // `-V, --version` is handled before commander parses (see main), so that a command's own
  // `--version <v>` is never taken for it; the root help still lists it.
  visibleOptions(cmd) {
    const options = new Help().visibleOptions(cmd);
    return cmd.parent ? options : [new Option('-V, --version', 'print the version of sigil'), ...options];
  },
  optionDescription(option) {
    const base = new Help().optionDescription(option);
    return option.mandatory ? `${base} (required)` : base;
  },
};

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

type Register = (program: Command, ctx: Context) => void;

/** The module that registers each group's commands (see command-groups.ts for which command is in which). */
const GROUPS: Record<CommandGroup, () => Promise<Register>> = {
  manifest: async () => (await import('./commands/manifest.js')).registerManifest,
  signing: async () => (await import('./commands/signing.js')).registerSigning,
  registry: async () => (await import('./commands/registry.js')).registerRegistry,
  host: async () => (await import('./commands/host.js')).registerHost,
  log: async () => (await import('./commands/log.js')).registerLog,
};

/**
 * Loads only the command group the arguments name, so `sigil resolve` at host start-up does not
 * pay for the signing side, node-forge or the registry client; help and unknown commands load all.
 */
async function commandGroups(argv: readonly string[]): Promise<Register[]> {
  return Promise.all(commandGroupsFor(argv).map((g) => GROUPS[g]()));
}

function* allCommands(cmd: Command): Generator<Command> {
  for (const sub of cmd.commands) {
    yield sub;
    yield* allCommands(sub);
  }
}

/**
 * One refused server: one line. Several: one line each, then one summary line. Never the same
 * refusal twice.
 */
function reportRefusals(e: ResolveError, out: Output): number {
  if (out.jsonErrors) {
    out.raw(`${JSON.stringify({ error: { code: e.code, message: e.message, refusals: e.refusals } }, null, 2)}\n`);
  } else if (e.refusals.length > 1) {
    for (const r of e.refusals) out.error(`refused ${r.name || '(all)'} ${r.code}: ${safeText(r.message)}\n`);
    out.error(`error ${e.code}: ${e.refusals.length} servers refused (each above)\n`);
  } else {
    out.error(`error ${e.code}: ${safeText(e.message)}\n`);
  }
  return EXIT.refused;
}

/** Commander's own usage errors (`error: unknown command 'x'`) in the CLI's form: `error USAGE: sentence`. */
function usageLine(text: string): string {
  return text.replace(/^error: /, 'error USAGE: ');
}

function report(e: unknown, out: Output): number {
  if (e instanceof CommanderError) {
    // Help and version are successes; everything else commander throws is wrong usage (bare
    // `sigil` shows the help on stderr and is wrong usage too).
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || (e.code === 'commander.help' && e.exitCode === 0)) return EXIT.ok;
    if (out.jsonErrors) out.raw(`${JSON.stringify({ error: { code: 'USAGE', message: e.message.replace(/^error: /, '') } }, null, 2)}\n`);
    return EXIT.usage;
  }
  let err: CliError;
  if (e instanceof CliError) err = e;
  else if (e instanceof ManifestError) err = new CliError(e.code, e.message, e.findings);
  else if (e instanceof SigningError) err = new CliError(e.code, e.message);
  else if (e instanceof ResolveError) return reportRefusals(e, out);
  else err = new CliError('INTERNAL', `unexpected failure: ${(e as Error)?.message ?? String(e)}`);
  if (out.jsonErrors) {
    out.raw(`${JSON.stringify({ error: { code: err.code, message: err.message, ...(err.requestId ? { requestId: err.requestId } : {}), ...(err.findings.length ? { findings: err.findings } : {}) } }, null, 2)}\n`);
  } else {
    if (err.findings.length) out.error(`${formatFindings(err.findings)}\n`);
    out.error(`error ${err.code}: ${safeText(err.message)}${err.requestId ? ` (request id ${safeText(err.requestId)})` : ''}\n`);
  }
  return err.exitCode;
}
