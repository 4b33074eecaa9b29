import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const depcruise = join(root, 'node_modules/.bin/depcruise');
const scratch = mkdtempSync(join(tmpdir(), 'sigil-deps-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes a tiny tree of TypeScript files and runs the project's dependency rules over it. */
async function cruise(name: string, files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  mkdirSync(join(dir, 'apps'), { recursive: true });
  mkdirSync(join(dir, 'packages'), { recursive: true });
  cpSync(join(root, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  cpSync(join(root, 'tsconfig.base.json'), join(dir, 'tsconfig.base.json'));
  try {
    const { stdout } = await run(depcruise, ['apps', 'packages', '--config', '.dependency-cruiser.cjs'], { cwd: dir });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, out: err.stdout };
  }
}

describe('the dependency-direction check', () => {
  it('passes on the real tree', async () => {
    const { stdout } = await run(depcruise, ['apps', 'packages', '--config', '.dependency-cruiser.cjs'], { cwd: root });
    expect(stdout).toMatch(/no dependency violations found/);
  });

  it('fails when a package imports an app', async () => {
    const { code, out } = await cruise('pkg-app', {
      'packages/lint/src/a.ts': "import { x } from '../../../apps/registry/src/b.js';\nexport const y = x;\n",
      'apps/registry/src/b.ts': 'export const x = 1;\n',
    });
    expect(code).not.toBe(0);
    expect(out).toContain('package-imports-app');
  });

  it('fails when the resolver imports the db', async () => {
    const { code, out } = await cruise('resolver-db', {
      'packages/resolver/src/a.ts': "import { x } from '../../db/src/b.js';\nexport const y = x;\n",
      'packages/db/src/b.ts': 'export const x = 1;\n',
    });
    expect(code).not.toBe(0);
    expect(out).toContain('resolver-minimal');
  });

  it('fails when registry routes touch the db', async () => {
    const { code, out } = await cruise('routes-db', {
      'apps/registry/src/routes/a.ts': "import { x } from '../../../../packages/db/src/b.js';\nexport const y = x;\n",
      'packages/db/src/b.ts': 'export const x = 1;\n',
    });
    expect(code).not.toBe(0);
    expect(out).toContain('routes-not-db');
  });

  it('fails when the manifest package does I/O', async () => {
    const { code, out } = await cruise('manifest-io', {
      'packages/manifest/src/a.ts': "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n",
    });
    expect(code).not.toBe(0);
    expect(out).toContain('manifest-no-io');
  });

  it('fails when the resolver imports the db through its package name (exports to dist/)', async () => {
    const dir = join(scratch, 'resolver-db-by-name');
    mkdirSync(join(dir, 'node_modules/@sigil'), { recursive: true });
    symlinkSync('../../packages/db', join(dir, 'node_modules/@sigil/db'));
    const { code, out } = await cruise('resolver-db-by-name', {
      'packages/resolver/src/a.ts': "import { x } from '@sigil/db';\nexport const y = x;\n",
      'packages/db/package.json': JSON.stringify({ name: '@sigil/db', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
      'packages/db/dist/index.js': 'export const x = 1;\n',
      'packages/db/dist/index.d.ts': 'export declare const x: number;\n',
    });
    expect(code).not.toBe(0);
    expect(out).toContain('resolver-minimal');
  });

  it('fails when the tlog package imports another package or does I/O', async () => {
    const other = await cruise('tlog-other', {
      'packages/tlog/src/a.ts': "import { x } from '../../signing/src/b.js';\nexport const y = x;\n",
      'packages/signing/src/b.ts': 'export const x = 1;\n',
    });
    expect(other.code).not.toBe(0);
    expect(other.out).toContain('tlog-pure');
    const io = await cruise('tlog-io', {
      'packages/tlog/src/a.ts': "import { createServer } from 'node:http';\nexport const y = createServer;\n",
    });
    expect(io.code).not.toBe(0);
    expect(io.out).toContain('tlog-no-io');
    const ok = await cruise('tlog-ok', {
      'packages/tlog/src/a.ts': "import { createHash } from 'node:crypto';\nimport { x } from './b.js';\nexport const y = [createHash, x];\n",
      'packages/tlog/src/b.ts': 'export const x = 1;\n',
    });
    expect(ok.code).toBe(0);
  });
});
