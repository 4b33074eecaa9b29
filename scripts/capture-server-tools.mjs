#!/usr/bin/env node
// Captures the real tool lists of popular MCP servers from the npm registry, as fixtures for the
// lint's false-positive test (test/lint-servers.test.ts). Each package is installed into its own
// temporary directory with `npm install --ignore-scripts` (no install scripts run, so nothing
// downloads a browser; the only network is the npm registry), started over stdio, asked for
// `initialize` and every page of `tools/list`, and written, normalised to the manifest's tool
// form, to test/fixtures/servers/<slug>.json with its package name, version and licence.
// A server that cannot start is skipped and said so; nothing is added to the project's dependencies.
// Usage: node scripts/capture-server-tools.mjs [slug…]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { normalizeTool } from '@sigil/manifest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test/fixtures/servers');

// slug, npm package, bin name (undefined: the package's only bin), arguments, environment.
// Environment values are placeholders: listing tools needs no real credentials.
const SERVERS = [
  ['filesystem', '@modelcontextprotocol/server-filesystem', undefined, (dir) => [dir], {}],
  ['memory', '@modelcontextprotocol/server-memory', undefined, () => [], (dir) => ({ MEMORY_FILE_PATH: join(dir, 'memory.json') })],
  ['everything', '@modelcontextprotocol/server-everything', undefined, () => ['stdio'], {}],
  ['sequential-thinking', '@modelcontextprotocol/server-sequential-thinking', undefined, () => [], {}],
  ['github', '@modelcontextprotocol/server-github', undefined, () => [], { GITHUB_PERSONAL_ACCESS_TOKEN: 'placeholder' }],
  ['brave-search', '@modelcontextprotocol/server-brave-search', undefined, () => [], { BRAVE_API_KEY: 'placeholder' }],
  ['postgres', '@modelcontextprotocol/server-postgres', undefined, () => ['postgresql://127.0.0.1:1/none'], {}],
  ['puppeteer', '@modelcontextprotocol/server-puppeteer', undefined, () => [], { PUPPETEER_SKIP_DOWNLOAD: '1' }],
  ['slack', '@modelcontextprotocol/server-slack', undefined, () => [], { SLACK_BOT_TOKEN: 'placeholder', SLACK_TEAM_ID: 'T0' }],
  ['gitlab', '@modelcontextprotocol/server-gitlab', undefined, () => [], { GITLAB_PERSONAL_ACCESS_TOKEN: 'placeholder' }],
  ['google-maps', '@modelcontextprotocol/server-google-maps', undefined, () => [], { GOOGLE_MAPS_API_KEY: 'placeholder' }],
  ['redis', '@modelcontextprotocol/server-redis', undefined, () => ['redis://127.0.0.1:1'], {}],
  ['playwright', '@playwright/mcp', undefined, () => ['--headless'], {}],
  ['context7', '@upstash/context7-mcp', undefined, () => [], {}],
  ['notion', '@notionhq/notion-mcp-server', undefined, () => [], { NOTION_TOKEN: 'placeholder' }],
  ['firecrawl', 'firecrawl-mcp', undefined, () => [], { FIRECRAWL_API_KEY: 'placeholder' }],
  ['tavily', 'tavily-mcp', undefined, () => [], { TAVILY_API_KEY: 'placeholder' }],
  ['exa', 'exa-mcp-server', undefined, () => [], { EXA_API_KEY: 'placeholder' }],
];

const only = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const skipped = [];
for (const [slug, pkg, binName, args, env] of SERVERS) {
  if (only.length && !only.includes(slug)) continue;
  const dir = mkdtempSync(join(tmpdir(), `sigil-capture-${slug}-`));
  try {
    writeFileSync(join(dir, 'package.json'), '{"private":true}');
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', pkg], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    const meta = JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8'));
    const bins = typeof meta.bin === 'string' ? { [pkg.split('/').pop()]: meta.bin } : meta.bin ?? {};
    const bin = binName ?? Object.keys(bins)[0];
    if (!bin) throw new Error('the package has no executable');
    const client = new Client({ name: 'sigil-capture', version: '1.0.0' });
    const work = join(dir, 'work');
    mkdirSync(work);
    const extra = typeof env === 'function' ? env(dir) : env;
    await client.connect(new StdioClientTransport({ command: join(dir, 'node_modules/.bin', bin), args: args(work), cwd: work, stderr: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: dir, ...extra } }));
    try {
      const tools = [];
      let cursor;
      const deadline = setTimeout(() => client.close(), 60_000);
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        tools.push(...page.tools.map((t) => normalizeTool(t).tool));
        cursor = page.nextCursor;
      } while (cursor);
      clearTimeout(deadline);
      const instructions = client.getInstructions();
      const fixture = { package: pkg, version: meta.version, license: licence(join(dir, 'node_modules', pkg), meta.license), capturedWith: 'scripts/capture-server-tools.mjs', ...(instructions ? { instructions } : {}), tools };
      writeFileSync(join(out, `${slug}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
      console.log(`${slug}: ${pkg}@${meta.version} (${meta.license}), ${tools.length} tools`);
    } finally {
      await client.close();
    }
  } catch (e) {
    skipped.push(slug);
    console.log(`${slug}: skipped, ${pkg} could not be installed or started: ${String(e?.message ?? e).replace(/\s+/g, " ").slice(0, 300)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
/** The package's licence: its SPDX id, or the title line of its LICENSE file when package.json points there. */
function licence(pkgDir, declared) {
  if (typeof declared === 'string' && !declared.startsWith('SEE LICENSE')) return declared;
  for (const name of ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license']) {
    try {
      const first = readFileSync(join(pkgDir, name), 'utf8').split('\n').map((l) => l.trim()).find(Boolean);
      if (first) return `${first} (from ${name})`;
    } catch {
      // try the next name
    }
  }
  return typeof declared === 'string' ? `${declared} (no licence file in the package)` : 'UNKNOWN (no licence declared)';
}

if (skipped.length) console.log(`skipped: ${skipped.join(', ')}`);
