import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { lintManifest } from '@sigil/lint';
import { checkManifestValue, normalizeTool, Tool, type Manifest } from '@sigil/manifest';
import { repoRoot } from '@sigil/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

// The real tool lists of popular MCP servers: the lint must give them no finding at all (any
// warning makes a version high risk, so a lint that flags these is too blunt to deploy).

const Fixture = z.object({ package: z.string(), version: z.string(), license: z.string().min(1), instructions: z.string().optional(), tools: z.array(Tool).min(1) });
const fixtures = join(repoRoot(), 'test/fixtures/servers');
const files = readdirSync(fixtures).filter((f) => f.endsWith('.json')).sort();

function manifestOf(slug: string, tools: Manifest['tools'], instructions: string | undefined): Manifest {
  return { name: `io.github.fixtures/${slug}`, description: slug, version: '1.0.0', tools, ...(instructions ? { instructions } : {}) };
}

describe('the captured tool lists of popular servers (test/fixtures/servers, scripts/capture-server-tools.mjs)', () => {
  it('covers at least a dozen servers', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  it.each(files)('%s: a valid manifest with no lint finding', (file) => {
    const fixture = Fixture.parse(JSON.parse(readFileSync(join(fixtures, file), 'utf8')));
    const manifest = manifestOf(file.replace(/\.json$/, ''), fixture.tools, fixture.instructions);
    expect(checkManifestValue(manifest).manifest, `${fixture.package} is not a valid manifest`).toBeDefined();
    const findings = lintManifest(manifest);
    console.log(`${fixture.package}@${fixture.version}: ${fixture.tools.length} tools, ${findings.length} findings`);
    expect(findings).toEqual([]);
  });
});

// The same, live, for the reference servers installed in this repository.
const dir = mkdtempSync(join(tmpdir(), 'sigil-lint-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = (name: string) => join(repoRoot(), 'node_modules/.bin', name);

describe.each([
  ['server-everything', bin('mcp-server-everything'), ['stdio']],
  ['server-filesystem', bin('mcp-server-filesystem'), [dir]],
  ['server-memory', bin('mcp-server-memory'), []],
])('the live tools of @modelcontextprotocol/%s', (label, command, args) => {
  it('lint with no finding', async () => {
    const client = new Client({ name: 'lint-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command, args, stderr: 'ignore', env: { PATH: process.env.PATH ?? '', MEMORY_FILE_PATH: join(dir, 'memory.json') } }));
    try {
      const tools = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        tools.push(...page.tools.map((t) => normalizeTool(t as Record<string, unknown>).tool));
        cursor = page.nextCursor;
      } while (cursor);
      expect(tools.length).toBeGreaterThan(3);
      expect(lintManifest(manifestOf(label, tools, client.getInstructions()))).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
