#!/usr/bin/env node
// The workspace's `sigil` (`npx sigil` in the checkout: the unbundled dist/ of every package).
// The packed CLI has its own bin, scripts/packed-bin.cjs, with V8's code cache on every Node.
// Here Node >= 22.1 keeps V8's compiled code for the CLI's modules between runs. Compiled code
// is code: it lives in the user's own state folder (beside the seal key, docs/resolver.md), never
// a shared temporary one where another local user could plant it, nor the cache folder, which CI
// systems save and restore; NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node 20 has no such cache.
import module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

if (typeof module.enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE) {
  try {
    const state = process.env.XDG_STATE_HOME;
    module.enableCompileCache(join(state && isAbsolute(state) ? state : join(homedir(), '.local', 'state'), 'sigil', 'node-compile-cache'));
  } catch {
    // A cache that cannot be opened only costs speed.
  }
}

const argv = process.argv.slice(2);
// `sigil --version` without loading main.ts's libraries (dist/version.js); anything else: main.
const { versionOnly } = await import('../dist/version.js');
const answered = versionOnly(argv);
if (answered !== undefined) process.exitCode = answered;
else {
  const { main } = await import('../dist/main.js');
  process.exitCode = await main(argv);
}
