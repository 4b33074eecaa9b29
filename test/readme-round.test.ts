import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot, sigilBin, startRegistry, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's round, publisher to host, run verbatim: the shell block after the
// `readme-round` marker, in a temporary folder, against a real registry whose data folder is
// `.sigil` there (so `cat .sigil/bootstrap-token` reads the token it wrote), with only Node, the
// `sigil` command and `mcp-server-everything` on PATH. Editing the README edits this test.
const root = repoRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'sigil-readme-'));
let registry: RegistryProcess;

/** The first ```sh block after the marker comment; the test fails if the marker or block is gone. */
export function roundBlock(text: string): string {
  const marker = text.indexOf('<!-- readme-round:');
  if (marker < 0) throw new Error('README.md has no readme-round marker');
  const m = /```sh\n([\s\S]*?)\n```/.exec(text.slice(marker));
  if (!m) throw new Error('README.md has no sh block after the readme-round marker');
  return m[1]!;
}

beforeAll(async () => {
  // No SIGIL_BOOTSTRAP_TOKEN: the registry creates the admin token and writes it to .sigil/, as for a user.
  registry = await startRegistry({ dataDir: join(dir, '.sigil'), env: { SIGIL_BOOTSTRAP_TOKEN: undefined } });
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  symlinkSync(sigilBin(), join(bin, 'sigil'));
  symlinkSync(join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), join(bin, 'mcp-server-everything'));
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the block with bash -e; feeds an MCP session to the last command (`sigil run`) and ends it once answered. */
function runRound(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // A README that fell back to `npx sigil` must fail here, not download a stranger's package.
  return hostSession('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], { SIGIL_REGISTRY: registry.url, npm_config_offline: 'true' }, {}, 150_000);
}

/**
 * Starts `command` in the round's folder, with the round's PATH, as an MCP host declaring
 * `capabilities` would: initialize, initialized, tools/list, its input ended once tools/list is
 * answered through the guard.
 */
function hostSession(command: string, args: string[], env: Record<string, string>, capabilities: Record<string, unknown>, ms: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: dir,
      env: { PATH: [join(dir, '.bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: join(dir, '.home'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      // The tools/list answer came back through the guard: the session is done.
      if (jsonLines(stdout).some((m) => m.id === 2)) child.stdin.end();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.write(
      [
        { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'readme-host', version: '1.0.0' } } },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      ]
        .map((m) => `${JSON.stringify(m)}\n`)
        .join(''),
    );
  });
}

/** The JSON-RPC messages among the lines of an output. */
function jsonLines(text: string): Array<{ id?: unknown; result?: { tools?: Array<{ name: string }> } }> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as { id?: unknown; result?: { tools?: Array<{ name: string }> } }];
      } catch {
        return [];
      }
    });
}

describe("when a new user runs the README's round as written", () => {
  it('publishes, reviews twice, locks, resolves and runs server-everything behind the guard', async () => {
    const { code, stdout, stderr } = await runRound(roundBlock(readme));
    expect(code, `${stderr}\n${stdout}`).toBe(0);
    // One note per dropped field, not one per tool (item 7).
    expect(stderr).toMatch(/note: left out the execution field of \d+ tools \(echo, /);
    expect(stderr).not.toContain('left out echo.execution');
    expect(stdout).toMatch(/published io\.github\.acme\/everything@1\.0\.0 sha256:[0-9a-f]{64} \(pending, high risk\)/);
    // The reviewer is told why it is high risk and how many approvals are still needed.
    expect(stdout).toContain('high risk  ');
    expect(stdout).toContain('approved io.github.acme/everything@1.0.0: 1 of 2 approvals, status pending: needs 1 more from another reviewer');
    expect(stdout).toContain('approved io.github.acme/everything@1.0.0: 2 of 2 approvals, status approved');
    expect(stdout).toMatch(/pinned io\.github\.acme\/everything@1\.0\.0 sha256:/);
    expect(stdout).toMatch(/ok io\.github\.acme\/everything@1\.0\.0 sha256:[0-9a-f]{64} \(\d+ tools, high risk\)/);
    expect(stdout).toMatch(/resolved 1 server/);
    // The host's MCP session: the guard passed the pinned tools through.
    expect(jsonLines(stdout).find((m) => m.id === 2)?.result?.tools?.map((t) => t.name)).toContain('echo');
    // No token was printed by anything but `token create --field token`, captured into variables.
    expect(stdout).not.toMatch(/sigil_[A-Za-z0-9_-]{20,}/);
  }, 180_000);

  it('serves hosts that declare capabilities (VS Code and Claude Desktop do), to which server-everything shows other tools', async () => {
    // The round's host folder, offline from the store the round's resolve kept: each host gets
    // the tools the server shows it, every one held to its pin, none refused as drift.
    for (const capabilities of [{}, { roots: {} }, { sampling: {} }, { roots: { listChanged: true }, sampling: {}, elicitation: {} }]) {
      const { stdout, stderr } = await hostSession(join(dir, '.bin', 'sigil'), ['run', 'io.github.acme/everything', '--offline', '--', 'mcp-server-everything'], {}, capabilities, 60_000);
      const answer = jsonLines(stdout).find((m) => m.id === 2);
      expect(answer?.result, `${JSON.stringify(capabilities)}: ${JSON.stringify(answer)}\n${stderr}`).toBeDefined();
      const tools = answer!.result!.tools!.map((t) => t.name);
      expect(tools).toContain('echo');
      if ('roots' in capabilities) expect(tools).toContain('get-roots-list');
    }
  }, 180_000);

  it('leaves nothing that git would pick up if it ran in the checkout (private keys above all)', () => {
    // Directories with a trailing slash, as git matches them.
    const written = readdirSync(dir, { withFileTypes: true })
      .filter((f) => !['.bin', '.home', '.sigil'].includes(f.name))
      .map((f) => (f.isDirectory() ? `${f.name}/` : f.name));
    expect(written).toEqual(expect.arrayContaining(['publisher.key', 'alice.key', 'bob.key', 'sigil.json', 'sigil.lock.json', 'sigil.policy.json']));
    const check = spawnSync('git', ['check-ignore', '--no-index', '--verbose', '--non-matching', ...written], { cwd: root, encoding: 'utf8' });
    const notIgnored = check.stdout.split('\n').filter((l) => l.startsWith('::')).map((l) => l.slice(2).trim());
    expect(notIgnored).toEqual([]);
  });
});
