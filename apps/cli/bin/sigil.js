#!/usr/bin/env node
// The workspace's `sigil` (`npx sigil` in the checkout: the unbundled dist/ of every package).
// The packed CLI has its own bin, scripts/packed-bin.cjs, with V8's code cache on every Node.
// Here Node >= 22.1 keeps V8's compiled code for the CLI's modules between runs. The cache
// lives in the user's own cache folder, never a shared temporary one where another local user
// could plant code; NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node 20 has no such cache.
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

if (typeof module.enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE) {
  try {
    module.enableCompileCache(join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sigil', 'node-compile-cache'));
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
