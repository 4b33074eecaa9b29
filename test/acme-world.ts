import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '@sigil/manifest';
import { ResolveError, type ResolveErrorCode } from '@sigil/resolver';
import type { RegistryProcess, RunResult } from '@sigil/testing';
import { sigilInProcess } from './sigil-in-process.js';

/** Where one `sigil` call runs: its working directory, and another registry URL (a relay, a second process). */
export interface SigilCallOptions {
  cwd?: string;
  registryUrl?: string;
}

/**
 * The io.github.acme world the host suites share: a temporary folder for keys, manifests and host
 * directories, `sigil` run in-process against the file's registry, and the tokens of its people.
 * The registry is asked for at every call (`registry()`), so a file that restarts it or runs a
 * second one keeps these helpers.
 */
export interface AcmeWorld {
  dir: string;
  /** A path in the world's folder. */
  path: (name: string) => string;
  /** Bearer tokens by person: `publisher`, `reader`, and each reviewer by name (`provision`). */
  tokens: Record<string, string>;
  /** `sigil` in-process through main() against the registry (or `registryUrl`), with `token` as SIGIL_TOKEN. */
  sigil: (args: readonly string[], token?: string, options?: SigilCallOptions) => Promise<RunResult & { code: number }>;
  /** `sigil` that must exit 0: its stdout, or a throw with what it printed. */
  ok: (args: readonly string[], token?: string, options?: SigilCallOptions) => Promise<string>;
  /** A token made with the registry's admin token, valid 2 hours. */
  token: (principal: string, role: string, ...namespaces: string[]) => Promise<string>;
  /**
   * The admin round: a key pair each (`publisher.key`, `<reviewer>.key`, with `.pub`), a publisher
   * token for io.github.acme, a security token for each reviewer, who is registered with their key,
   * a reader token for the host (`host`), and the publisher's key allowlisted in io.github.acme.
   */
  provision: (reviewers: readonly string[]) => Promise<void>;
  /** Signs `manifest` with the publisher's key, publishes it, and each approver approves it with their key. */
  publish: (manifest: Manifest, approvers?: readonly string[], registryUrl?: string) => Promise<void>;
  /** Removes the folder. */
  remove: () => void;
}

export function acmeWorld(prefix: string, registry: () => RegistryProcess): AcmeWorld {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = (name: string) => join(dir, name);
  const tokens: Record<string, string> = {};
  const sigil = (args: readonly string[], token = '', options: SigilCallOptions = {}) =>
    sigilInProcess(args, { ...(options.cwd ? { cwd: options.cwd } : {}), env: { SIGIL_REGISTRY: options.registryUrl ?? registry().url, SIGIL_TOKEN: token } });
  const ok = async (args: readonly string[], token?: string, options: SigilCallOptions = {}): Promise<string> => {
    const run = await sigil(args, token, options);
    if (run.code !== 0) throw new Error(`sigil ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
    return run.stdout;
  };
  const token = async (principal: string, role: string, ...namespaces: string[]): Promise<string> => {
    const out = await ok(['token', 'create', '--principal', principal, '--role', role, ...namespaces.flatMap((n) => ['--namespace', n]), '--ttl', '2h', '--json'], registry().adminToken);
    return (JSON.parse(out) as { token: string }).token;
  };
  const provision = async (reviewers: readonly string[]): Promise<void> => {
    for (const k of ['publisher', ...reviewers]) await ok(['keygen', '--out', path(`${k}.key`)]);
    tokens.publisher = await token('acme-ci', 'publisher', 'io.github.acme');
    for (const r of reviewers) {
      tokens[r] = await token(r, 'security');
      await ok(['reviewer', 'add', r, '--public-key', path(`${r}.key.pub`)], registry().adminToken);
    }
    tokens.reader = await token('host', 'reader');
    await ok(['allowlist', 'add', 'io.github.acme', '--public-key', path('publisher.key.pub')], registry().adminToken);
  };
  const publish = async (manifest: Manifest, approvers: readonly string[] = [], registryUrl?: string): Promise<void> => {
    const on = registryUrl === undefined ? {} : { registryUrl };
    const file = path(`${manifest.name.replace('/', '_')}-${manifest.version}.json`);
    writeFileSync(file, JSON.stringify(manifest));
    await ok(['sign', file, '--key', path('publisher.key'), '--out', `${file}.bundle`]);
    await ok(['publish', file, '--bundle', `${file}.bundle`], tokens.publisher, on);
    for (const who of approvers) await ok(['review', 'approve', `${manifest.name}@${manifest.version}`, '--key', path(`${who}.key`)], tokens[who], on);
  };
  return { dir, path, tokens, sigil, ok, token, provision, publish, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The code a resolver call is refused with (`none` when it succeeds); anything else is thrown on. */
export async function codeOf(p: Promise<unknown>): Promise<ResolveErrorCode | 'none'> {
  try {
    await p;
    return 'none';
  } catch (e) {
    if (e instanceof ResolveError) return e.code;
    throw e;
  }
}
