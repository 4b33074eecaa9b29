import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { lintManifest } from '@sigil/lint';
import { normalizeTool, type Manifest } from '@sigil/manifest';
import { repoRoot } from '@sigil/testing';
import { afterAll, describe, expect, it } from 'vitest';

// The real tool lists of widely used reference servers, listed over stdio: the lint must not
// block any of them (a lint that refuses the reference servers is too blunt to deploy).
const dir = mkdtempSync(join(tmpdir(), 'sigil-lint-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bin = (name: string) => join(repoRoot(), 'node_modules/.bin', name);

describe.each([
  ['server-everything', bin('mcp-server-everything'), ['stdio']],
  ['server-filesystem', bin('mcp-server-filesystem'), [dir]],
  ['server-memory', bin('mcp-server-memory'), []],
])('the real tools of @modelcontextprotocol/%s', (label, command, args) => {
  it('lint with no errors', async () => {
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
      const manifest: Manifest = { name: `io.github.modelcontextprotocol/${label}`, description: label, version: '1.0.0', tools, ...(client.getInstructions() ? { instructions: client.getInstructions()! } : {}) };
      const findings = lintManifest(manifest);
      const errors = findings.filter((f) => f.severity === 'error');
      expect(errors).toEqual([]);
      console.log(`${label}: ${tools.length} tools, ${findings.length} warnings${findings.length ? `: ${findings.map((f) => `${f.rule} ${f.path}`).join(', ')}` : ''}`);
    } finally {
      await client.close();
    }
  });
});
