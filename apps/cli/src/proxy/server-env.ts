/**
 * The environment the guarded server is started with: `sigil run`'s own, without Sigil's secrets.
 * A host configuration gives `sigil run` its registry token (README: `"env": { "SIGIL_TOKEN": … }`),
 * and a shell may export a reviewer's or publisher's; the server behind the firewall is the party
 * the firewall does not trust, so it never inherits them. Only these variables are removed, and
 * nothing else changes: a server's own settings (API keys, PATH, HOME) reach it as before.
 */
export const SIGIL_SECRETS: readonly string[] = [
  // The CLI's registry token.
  'SIGIL_TOKEN',
  // The registry's (when `sigil run` is started from a shell that runs one): its bootstrap token,
  // database and Redis URLs (they may carry passwords), and signing keys given as text.
  'SIGIL_BOOTSTRAP_TOKEN',
  'SIGIL_DATABASE_URL',
  'SIGIL_REDIS_URL',
  'SIGIL_STATUS_KEY',
  'SIGIL_LOG_KEY',
  'SIGIL_TSA_KEY',
];

/** A copy of `env` without {@link SIGIL_SECRETS}. */
export function serverEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of SIGIL_SECRETS) delete out[name];
  return out;
}
