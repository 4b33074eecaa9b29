import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { checkManifestValue } from './index.js';

// The official server.json schema (2025-12-11) and real server.json files, vendored with their
// licence in test-vectors/official.
const vector = (name: string) => JSON.parse(readFileSync(new URL(`../test-vectors/official/${name}`, import.meta.url), 'utf8')) as unknown;
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const official = ajv.compile(vector('server.schema.2025-12-11.json') as object);
/** A Sigil manifest is a server.json plus its tools. */
const sigil = (serverJson: Record<string, unknown>) => checkManifestValue({ ...serverJson, tools: [] }).manifest !== undefined;

const base = { $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json', description: 'A probe', version: '1.0.0' };
const remote = (url: string) => ({ ...base, name: 'io.github.acme/probe', remotes: [{ type: 'streamable-http', url }] });

/** Accepted by the official schema, so accepted by Sigil. */
const ACCEPTED: Array<[string, Record<string, unknown>]> = [
  ['a mixed-case namespace', { ...base, name: 'io.github.ChromeDevTools/chrome-devtools-mcp' }],
  ['a mixed-case server part', { ...base, name: 'io.github.GLips/Figma-Context-MCP' }],
  ['an upper-case first label', { ...base, name: 'IO.github.acme/weather' }],
  ['a long server part', { ...base, name: `io.github.acme/${'a'.repeat(150)}` }],
  ['a remote URL with a path variable', remote('https://api.example.com/{tenant}/mcp')],
  ['a package without a version', { ...base, name: 'io.github.acme/pkg', packages: [{ registryType: 'npm', identifier: 'pkg', transport: { type: 'stdio' } }] }],
  ['an ssh repository URL (older real server.json files)', { ...base, name: 'io.github.acme/probe', repository: { url: 'ssh://git@github.com/acme/probe', source: 'github' } }],
  ['a description of 100 emoji (code points, not UTF-16 units)', { ...base, name: 'io.github.acme/probe', description: '😀'.repeat(100) }],
  ['an environment variable with an empty name', { ...base, name: 'io.github.acme/pkg', packages: [{ registryType: 'npm', identifier: 'pkg', transport: { type: 'stdio' }, environmentVariables: [{ name: '' }] }] }],
  ['a website URL on an IPv6 literal with a port', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://[2001:db8::1]:8443/docs' }],
];

/** Refused by the official schema, so refused by Sigil. */
const REFUSED: Array<[string, Record<string, unknown>]> = [
  ['a {base_url}/mcp transport URL', remote('{base_url}/mcp')],
  ['a transport URL with a space', remote('https://api.example.com/m cp')],
  ['a website URL with a space', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://example.com/a b' }],
  ['a name with two slashes', { ...base, name: 'io.github.acme/a/b' }],
  ['a description over 100 characters', { ...base, name: 'io.github.acme/probe', description: 'x'.repeat(101) }],
  ['a package version "latest"', { ...base, name: 'io.github.acme/pkg', packages: [{ registryType: 'npm', identifier: 'pkg', version: 'latest', transport: { type: 'stdio' } }] }],
  ['an ftp transport URL', remote('ftp://example.com/mcp')],
  ['a website URL with Unicode (WHATWG URL parsing would encode it)', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://例え.jp/' }],
  ['a website URL with "<"', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://example.com/<script>' }],
  ['a $schema with a bad percent-escape', { ...base, name: 'io.github.acme/probe', $schema: 'https://example.com/%zz' }],
  ['a publisher-provided _meta that is not an object', { ...base, name: 'io.github.acme/probe', _meta: { 'io.modelcontextprotocol.registry/publisher-provided': 'x' } }],
];

/** Accepted by the official schema, refused by Sigil: each listed with its reason in docs/manifest.md. */
const STRICTER: Array<[string, Record<string, unknown>]> = [
  ['a version that is not SemVer', { ...base, name: 'io.github.acme/probe', version: '2025.1' }],
  ['a one-label namespace', { ...base, name: 'acme/probe' }],
  ['a server part starting with "."', { ...base, name: 'io.github.acme/.probe' }],
  ['an unknown top-level field', { ...base, name: 'io.github.acme/probe', status: 'active' }],
  ['a javascript: website URL', { ...base, name: 'io.github.acme/probe', websiteUrl: 'javascript:alert(1)' }],
  ['an http icon', { ...base, name: 'io.github.acme/probe', icons: [{ src: 'http://example.com/icon.png' }] }],
  ['a non-numeric port', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://example.com:port/' }],
  ['a website URL with userinfo before the host', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://github.com@evil.example/' }],
  ['a website URL without "//" and a host', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https:evil.example/x' }],
  ['a website URL with a percent-encoded host', { ...base, name: 'io.github.acme/probe', websiteUrl: 'https://%00/' }],
  ['a remote URL with userinfo before the host', remote('https://github.com@evil.example/mcp')],
];

/** Sigil's rule for http(s) URLs (docs/manifest.md): a host, not percent-encoded, and no userinfo. */
const HOSTLESS = ['https://', 'https:evil.example/x', 'https:///x', 'https://%00/', 'https://github.com%2Facme%2Fx.evil.example/', 'https://github.com@evil.example/', 'http://user:pw@localhost:8080/'];
const AT: Array<[string, (url: string) => Record<string, unknown>]> = [
  ['/websiteUrl', (url) => ({ websiteUrl: url })],
  ['/repository/url', (url) => ({ repository: { url, source: 'github' } })],
  ['/remotes/0/url', (url) => ({ remotes: [{ type: 'streamable-http', url }] })],
  ['/icons/0/src', (url) => ({ icons: [{ src: url.replace(/^http:/, 'https:') }] })],
];


describe('when a server.json is checked by the official schema and by Sigil', () => {
  it('reads every real server.json of the official registry seed', () => {
    const seed = vector('seed.json') as Array<Record<string, unknown>>;
    expect(seed.length).toBeGreaterThan(0);
    for (const doc of seed) {
      expect(official(doc), JSON.stringify(official.errors)).toBe(true);
      expect(sigil(doc), String(doc.name)).toBe(true);
    }
  });
  it('says of a plain server.json, without tools, what is missing and how to get it', () => {
    const check = checkManifestValue({ ...base, name: 'io.github.acme/probe' });
    expect(check.manifest).toBeUndefined();
    expect(check.findings).toEqual([{ path: '/tools', rule: 'MANIFEST_INVALID', severity: 'error', message: expect.stringContaining('`sigil manifest init` writes them') }]);
  });
  it.each(ACCEPTED)('accepts %s, as the official schema does', (_label, doc) => {
    expect(official(doc), JSON.stringify(official.errors)).toBe(true);
    expect(sigil(doc)).toBe(true);
  });
  it.each(REFUSED)('refuses %s, as the official schema does', (_label, doc) => {
    expect(official(doc)).toBe(false);
    expect(sigil(doc)).toBe(false);
  });
  it.each(STRICTER)('refuses %s, a documented stricter rule', (_label, doc) => {
    expect(official(doc)).toBe(true);
    expect(sigil(doc)).toBe(false);
  });
  it.each(AT)('refuses an http(s) URL at %s without a plain host, or with userinfo, saying why (MANIFEST_INVALID)', (path, at) => {
    for (const url of HOSTLESS) {
      const { findings } = checkManifestValue({ ...base, name: 'io.github.acme/probe', tools: [], ...at(url) });
      expect([url, findings.map((f) => [f.path, f.rule])]).toEqual([url, [[path, 'MANIFEST_INVALID']]]);
      expect(findings[0]!.message).toMatch(/^(an http\(s\) URL|expected)/);
    }
    const { findings } = checkManifestValue({ ...base, name: 'io.github.acme/probe', tools: [], ...at('https://github.com@evil.example/') });
    expect(findings[0]!.message).toContain('names no user or password before its host');
    expect(checkManifestValue({ ...base, name: 'io.github.acme/probe', tools: [], ...at('https://example.com:8443/a@b') }).findings).toEqual([]);
  });
});
