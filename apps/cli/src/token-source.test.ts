import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startRegistry, type RegistryProcess } from '@sigil/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';

function sink(): Writable & { text: string } {
  const s = new Writable({
    write(chunk: Buffer, _enc, done) {
      s.text += chunk.toString('utf8');
      done();
    },
  }) as Writable & { text: string };
  s.text = '';
  return s;
}

let registry: RegistryProcess;
const dir = mkdtempSync(join(tmpdir(), 'sigil-token-'));
beforeAll(async () => {
  registry = await startRegistry();
}, 60_000);
afterAll(async () => {
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sigil(args: string[], stdin?: string) {
  const stdout = sink();
  const stderr = sink();
  const code = await main(args, { stdout, stderr, env: { SIGIL_REGISTRY: registry.url }, ...(stdin !== undefined ? { stdin: () => stdin } : {}) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('when the token comes from --token-file', () => {
  it('reads the first line of the file, without a warning', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${registry.adminToken}\n# comment\n`, { mode: 0o600 });
    const r = await sigil(['--token-file', file, 'whoami', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ principal: 'admin' });
    expect(r.stderr).toBe('');
  });

  it('reads stdin with -', async () => {
    const r = await sigil(['--token-file', '-', 'whoami', '--json'], `${registry.adminToken}\n`);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ principal: 'admin' });
  });

  it('refuses a missing or empty file, and both --token and --token-file', async () => {
    expect(JSON.parse((await sigil(['--token-file', join(dir, 'nope'), 'whoami', '--json'])).stdout)).toMatchObject({ error: { code: 'FILE_NOT_FOUND' } });
    const empty = await sigil(['--token-file', '-', 'whoami', '--json'], '\n');
    expect(empty.code).toBe(2);
    const both = await sigil(['--token', registry.adminToken, '--token-file', '-', 'whoami', '--json'], registry.adminToken);
    expect(both.code).toBe(2);
  });
});

describe('when the token is given as --token', () => {
  it('works, and warns once that other users can see it', async () => {
    const r = await sigil(['--token', registry.adminToken, 'whoami', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/warning: --token shows the token/g)).toHaveLength(1);
    expect(r.stderr).not.toContain(registry.adminToken);
  });
});
