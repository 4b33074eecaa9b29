import type { Command } from 'commander';

/**
 * Examples shown at the end of each command's --help, keyed by the command path after `sigil`.
 * Every example is a line a person can paste; `test/cli-help.test.ts` checks each command has one.
 */
export const EXAMPLES: Record<string, string[]> = {
  'manifest init': [
    'sigil manifest init --name io.github.acme/everything --version 1.0.0 --out sigil.json -- mcp-server-everything',
    'sigil manifest init --name io.github.acme/remote --version 2.1.0 --url https://mcp.acme.example/mcp --out sigil.json',
  ],
  'manifest check': ['sigil manifest check sigil.json'],
  'manifest digest': ['sigil manifest digest sigil.json'],
  keygen: ['sigil keygen --out publisher.key    # writes publisher.key (0600) and publisher.key.pub'],
  'ca init': ['sigil ca init --out acme-ca --name "Acme Release CA"'],
  'ca issue': ['sigil ca issue --ca acme-ca --public-key release.key.pub --identity mailto:release@acme.example --days 1 --out release.crt'],
  'ca register': ['sigil ca register --ca acme-ca'],
  sign: ['sigil sign sigil.json --key publisher.key --out sigil.bundle.json', 'sigil sign sigil.json --key release.key --cert release.crt --tsa $SIGIL_REGISTRY/api/v1/timestamp --out sigil.bundle.json'],
  verify: ['sigil verify sigil.json --bundle sigil.bundle.json --policy sigil.policy.json'],
  provenance: ['sigil provenance sigil.json --key build.key --out sigil.provenance.json    # in GitHub Actions'],
  publish: ['SIGIL_TOKEN=$PUB sigil publish sigil.json --bundle sigil.bundle.json'],
  'review list': ['sigil review list', 'sigil review list --namespace io.github.acme --risk high --all', 'sigil review list --status approved --limit 50 --cursor 120'],
  'review show': ['sigil review show io.github.acme/everything@1.0.0'],
  'review approve': ['sigil review approve io.github.acme/everything@1.0.0 --key alice.key --comment "read the diff"'],
  'review reject': ['sigil review reject io.github.acme/everything@1.0.0 --reason "sends files to a remote URL"'],
  revoke: ['sigil revoke io.github.acme/everything@1.0.0 --reason "exfiltration found"'],
  'allowlist add': [
    'sigil allowlist add io.github.acme --public-key publisher.key.pub',
    "sigil allowlist add 'com.example.*' --identity mailto:release@example.com --ca example-ca    # or --ca SHA256:… as sigil ca register printed",
  ],
  'allowlist add-builder': ['sigil allowlist add-builder io.github.acme --builder https://github.com/actions/runner/github-hosted --public-key build.key.pub'],
  'allowlist list': ['sigil allowlist list'],
  'allowlist remove': ['sigil allowlist remove io.github.acme'],
  'reviewer add': ['sigil reviewer add alice --public-key alice.key.pub', 'sigil reviewer add erin --identity mailto:erin@acme.example --ca acme-ca'],
  'reviewer list': ['sigil reviewer list'],
  'reviewer remove': ['sigil reviewer remove erin    # every binding of erin', "sigil reviewer remove erin --fingerprint 'mailto:erin@acme.example SHA256:…'"],
  'token create': [
    'sigil token create --principal acme-ci --role publisher --namespace io.github.acme --ttl 7d --field token',
    'sigil token create --principal my-laptop --role reader --ttl 30d --field token    # a host reader token',
  ],
  'token list': ['sigil token list', 'sigil token list --all --json'],
  'token revoke': ['sigil token revoke 0123456789abcdef    # the id from token create or token list'],
  whoami: ['sigil whoami'],
  search: ['sigil search weather', 'sigil search io.github.acme --json'],
  'audit list': ['sigil audit list', 'sigil audit list --after 100 --limit 50'],
  'audit verify': ['sigil audit verify'],
  log: ['sigil log verify', 'sigil log proof io.github.acme/weather@1.2.0'],
  'log verify': ['sigil log verify', 'sigil log verify --trusted-root sigil.registry.trusted_root.json'],
  'log monitor': ['sigil log monitor --namespace io.github.acme --checkpoint acme.checkpoint    # in CI, on a schedule'],
  'log proof': ['sigil log proof io.github.acme/weather@1.2.0', 'sigil log proof io.github.acme/weather@1.2.0 --bundle-out weather.bundle.json'],
  'policy init': ['sigil policy init --out sigil.policy.json --publisher io.github.acme=publisher.key.pub --reviewer alice.key.pub --reviewer bob.key.pub'],
  lock: ['sigil lock io.github.acme/everything@1.0.0', 'sigil lock --update io.github.acme/everything'],
  resolve: ['sigil resolve', 'sigil resolve --offline'],
  run: ['sigil run io.github.acme/everything -- mcp-server-everything'],
};

/** Descriptions for commands registered without one. */
const DESCRIPTIONS: Record<string, string> = {
  'reviewer add': 'bind a reviewer principal to the key or certificate identity their approvals are signed with (admin)',
  'token create': 'create an API token for a principal with one role; printed once (admin)',
};

/** The command's path after `sigil`, e.g. `review approve`. */
export function commandKey(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds the examples and any missing description to a command's help. */
export function decorateHelp(cmd: Command): void {
  const key = commandKey(cmd);
  if (!cmd.description() && DESCRIPTIONS[key]) cmd.description(DESCRIPTIONS[key]);
  // A group without examples of its own shows the first of each of its commands'.
  const examples = EXAMPLES[key] ?? cmd.commands.flatMap((sub) => EXAMPLES[commandKey(sub)]?.slice(0, 1) ?? []);
  if (examples.length > 0) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}
