import { chmodSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from './checkpoint-store.js';
import { ResolveError } from './errors.js';
import { StoreGuard } from './store-safety.js';

// The host store's mode and owner checks on real directories (the suites run as root, so another
// owner can be made with chown). The end-to-end refusals are in test/host-trust-store.test.ts.
const root = mkdtempSync(join(tmpdir(), 'sigil-store-safety-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DIGEST = `sha256:${'ab'.repeat(32)}` as const;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof ResolveError ? e.code : `not a ResolveError: ${String(e)}`;
  }
}

describe('StoreGuard', () => {
  it('accepts an absent store (nothing to read yet) and a 0700 one', () => {
    expect(codeOf(() => new StoreGuard(join(root, 'absent')).dirs(join(root, 'absent', 'records')))).toBeUndefined();
    const dir = join(root, 'fine');
    mkdirSync(join(dir, 'records'), { recursive: true, mode: 0o700 });
    expect(codeOf(() => new StoreGuard(dir).dirs(join(dir, 'records')))).toBeUndefined();
  });

  it('refuses a group-writable proofs directory before a proof is read, and names the fix', async () => {
    const dir = join(root, 'proofs');
    mkdirSync(join(dir, 'proofs'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'proofs', `${'ab'.repeat(32)}.json`), '{}', { mode: 0o600 });
    chmodSync(join(dir, 'proofs'), 0o770);
    const error = await new CheckpointStore(dir).proofText(DIGEST).then(
      () => undefined,
      (e: unknown) => e as ResolveError,
    );
    expect(error?.code).toBe('STORE_UNSAFE');
    expect(error?.message).toContain(`chmod 700 ${join(dir, 'proofs')}`);
  });

  it('refuses a store directory that is a symbolic link owned by another user, though what it points to is safe', () => {
    const target = join(root, 'mine');
    mkdirSync(target, { mode: 0o700 });
    const link = join(root, 'linked');
    symlinkSync(target, link);
    expect(codeOf(() => new StoreGuard(link).dirs())).toBeUndefined();
    lchownSync(link, 65534, 65534);
    expect(codeOf(() => new StoreGuard(link).dirs())).toBe('STORE_UNSAFE');
  });

  it('names the fix for a store owned by another user in a sentence of its own (remove it, or chown), not as a chmod', () => {
    const dir = join(root, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    lchownSync(dir, 65534, 65534);
    try {
      new StoreGuard(dir).dirs();
      expect.unreachable();
    } catch (e) {
      const message = (e as ResolveError).message;
      expect(message).toContain(`so the store is not read: if you did not expect this owner, remove the store (\`rm -r ${dir}\`) and resolve once online; otherwise \`chown ${process.geteuid!()} ${dir}\``);
      expect(message).not.toContain('fix it with if');
      // The umask hint is for modes, not for another owner.
      expect(message).not.toContain('umask');
    }
  });

  it('quotes a path with spaces or quotes in the command it names', () => {
    const dir = join(root, "it's a store");
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o777);
    try {
      new StoreGuard(dir).dirs();
      expect.unreachable();
    } catch (e) {
      expect((e as ResolveError).message).toContain(`chmod 700 '${join(root, "it'\\''s a store")}'`);
    }
  });
});
