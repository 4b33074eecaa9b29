import { Command, CommanderError } from 'commander';
import { ManifestError } from '@sigil/manifest';
import { ResolveError } from '@sigil/resolver';
import { SigningError } from '@sigil/signing/verify';
import type { Context } from './context.js';
import { CliError, EXIT } from './errors.js';
import { createOutput, formatFindings, safeText } from './output.js';

/**
 * Runs `sigil` with the given arguments and returns the exit code: 0 success, 1 refused,
 * invalid or failed, 2 wrong usage. Never throws and never calls `process.exit`, so tests call it
 * in-process and the process ends only when every child and handle is closed.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = createOutput(json);
  const program = new Command('sigil');
  const ctx: Context = {
    out,
    exitCode: EXIT.ok,
    globals: () => program.opts<{ registry?: string; token?: string; json: boolean }>(),
  };
  program
    .description('Sigil: signed, reviewed MCP tool manifests for publishers, reviewers and agent hosts')
    .option('--registry <url>', 'registry URL (env SIGIL_REGISTRY)', process.env.SIGIL_REGISTRY)
    .option('--token <token>', 'API token (env SIGIL_TOKEN)', process.env.SIGIL_TOKEN)
    .option('--json', 'machine-readable output', false)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  for (const register of await commandGroups(argv)) register(program, ctx);
  for (const cmd of allCommands(program)) cmd.exitOverride().showHelpAfterError();

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    return report(e, out);
  }
}

type Register = (program: Command, ctx: Context) => void;

/** Which module registers each top-level command. */
const GROUPS: Record<string, () => Promise<Register>> = {
  manifest: async () => (await import('./commands/manifest.js')).registerManifest,
  signing: async () => (await import('./commands/signing.js')).registerSigning,
  registry: async () => (await import('./commands/registry.js')).registerRegistry,
  host: async () => (await import('./commands/host.js')).registerHost,
};
const GROUP_OF: Record<string, keyof typeof GROUPS> = {
  manifest: 'manifest',
  keygen: 'signing',
  ca: 'signing',
  sign: 'signing',
  verify: 'signing',
  provenance: 'signing',
  policy: 'host',
  lock: 'host',
  resolve: 'host',
  run: 'host',
  publish: 'registry',
  review: 'registry',
  revoke: 'registry',
  allowlist: 'registry',
  reviewer: 'registry',
  token: 'registry',
};

/**
 * Loads only the command group the arguments name, so `sigil resolve` at host start-up does not
 * pay for the signing side, node-forge or the registry client; help and unknown commands load all.
 */
async function commandGroups(argv: readonly string[]): Promise<Register[]> {
  let first: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--registry' || a === '--token') i++; // the option's value
    else if (!a.startsWith('-')) {
      first = a;
      break;
    }
  }
  const group = first === undefined ? undefined : GROUP_OF[first];
  const wanted = group && !argv.includes('--help') && !argv.includes('-h') ? [group] : (Object.keys(GROUPS) as Array<keyof typeof GROUPS>);
  return Promise.all(wanted.map((g) => GROUPS[g]!()));
}

function* allCommands(cmd: Command): Generator<Command> {
  for (const sub of cmd.commands) {
    yield sub;
    yield* allCommands(sub);
  }
}

/** Every refused server on its own line (or in `refusals` with --json); the first code leads. */
function reportRefusals(e: ResolveError, out: ReturnType<typeof createOutput>): number {
  if (out.json) {
    out.result({ error: { code: e.code, message: e.message, refusals: e.refusals } }, '');
  } else {
    if (e.refusals.length > 1 || e.refusals[0]?.name) for (const r of e.refusals) process.stderr.write(`refused ${r.name || '(all)'} ${r.code}: ${safeText(r.message)}\n`);
    process.stderr.write(`error ${e.code}: ${safeText(e.message)}\n`);
  }
  return EXIT.refused;
}

function report(e: unknown, out: ReturnType<typeof createOutput>): number {
  if (e instanceof CommanderError) {
    // Help and version are successes; everything else commander throws is wrong usage.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return EXIT.ok;
    if (out.json) out.result({ error: { code: 'USAGE', message: e.message } }, '');
    return EXIT.usage;
  }
  let err: CliError;
  if (e instanceof CliError) err = e;
  else if (e instanceof ManifestError) err = new CliError(e.code, e.message, e.findings);
  else if (e instanceof SigningError) err = new CliError(e.code, e.message);
  else if (e instanceof ResolveError) return reportRefusals(e, out);
  else err = new CliError('INTERNAL', `unexpected failure: ${(e as Error)?.message ?? String(e)}`);
  if (out.json) {
    out.result({ error: { code: err.code, message: err.message, ...(err.findings.length ? { findings: err.findings } : {}) } }, '');
  } else {
    if (err.findings.length) process.stderr.write(`${formatFindings(err.findings)}\n`);
    process.stderr.write(`error ${err.code}: ${safeText(err.message)}\n`);
  }
  return err.exitCode;
}
