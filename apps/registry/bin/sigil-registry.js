#!/usr/bin/env node
// `sigil-registry keys init <dir>` makes the registry's keys once (docs/deploy.md); anything else starts the registry.
if (process.argv[2] === 'keys') await import('../dist/keys-cli.js');
else await import('../dist/main.js');
