import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Manifest, Tool } from '@sigil/manifest';

/** Absolute path of a file in this package's `fixtures/` folder. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** Path of the configurable MCP stdio test server (see its header for the environment it reads). */
export const configurableServerPath = (): string => fixturePath('servers/configurable-server.mjs');

/** Text of a fixture file. */
export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/** A realistic read-only weather server manifest (`io.github.acme/weather`). */
export function weatherManifest(overrides: Partial<Manifest> = {}): Manifest {
  return { ...(JSON.parse(readFixture('weather-1.2.0.sigil.json')) as Manifest), ...overrides };
}

/** A realistic file-system server manifest with a write tool, so it is high-risk for review. */
export function filesystemManifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    name: 'io.github.acme/filesystem',
    description: 'Read and write files under the directories the host allows',
    version: '1.0.0',
    repository: { url: 'https://github.com/acme/filesystem-mcp', source: 'github' },
    packages: [{ registryType: 'npm', identifier: '@acme/filesystem-mcp', version: '1.0.0', transport: { type: 'stdio' } }],
    tools: [
      {
        name: 'read_text_file',
        description: 'Read the complete contents of a file from the file system as text. Only works within allowed directories.',
        inputSchema: {
          type: 'object',
          properties: { path: { type: 'string' }, head: { type: 'number', description: 'If provided, returns only the first N lines of the file' } },
          required: ['path'],
        },
        annotations: { readOnlyHint: true },
      },
      {
        name: 'write_file',
        description: 'Create a new file or completely overwrite an existing file with new content. Use with caution.',
        inputSchema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
        annotations: { readOnlyHint: false, destructiveHint: true },
      },
      {
        name: 'list_directory',
        description: 'Get a detailed listing of all files and directories in a specified path.',
        inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
        annotations: { readOnlyHint: true },
      },
    ],
    ...overrides,
  };
}

/** `count` plain, valid tools named `tool_0`, `tool_1`, … */
export function manyTools(count: number, descriptionBytes = 80): Tool[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `tool_${i}`,
    description: `Tool ${i}: `.padEnd(descriptionBytes, 'x'),
    inputSchema: { type: 'object', properties: { q: { type: 'string', description: 'query' } }, required: ['q'] },
    annotations: { readOnlyHint: true },
  }));
}

export { freePort, isAlive, repoRoot, runProcess, runSigil, sigilBin, type RunResult } from './process.js';
export { buildHostWorld, type HostWorld, type HostWorldOptions } from './host-world.js';
export { provisionRegistryKeys, startRegistry, type RegistryProcess } from './registry-process.js';
export { createTestDatabase, createTestStore, TEST_POSTGRES_URL, testDialect, type TestDatabase, type TestDialect, type TestStore } from './postgres.js';
