#!/usr/bin/env node
// Verifications per second: key-signed bundles, certificate+timestamp bundles (uncached and
// cached), and raw node:crypto P-256 verifies, in one run so the ratios compare like with like.
// Needs the manifest and signing packages built (scripts/bench/verify does it).
// Usage: node scripts/bench/verify.mjs [seconds per case, default 2]
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { parseManifest } from '@sigil/manifest';
import { buildTrustedRoot, createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, signManifestStatement } from '@sigil/signing/sign';
import { SignerPolicy, VerificationCache, verifyManifestBundle } from '@sigil/signing/verify';

const seconds = Number(process.argv[2] ?? 2);
if (!(seconds > 0 && seconds <= 60)) throw new Error('seconds per case: a number from 0 to 60');
const manifest = parseManifest(
  JSON.stringify({
    name: 'io.github.acme/weather',
    description: 'Weather for agents',
    version: '1.2.0',
    tools: [{ name: 'get_forecast', description: 'Daily forecast.', inputSchema: { type: 'object' } }],
  }),
);

const keys = generateKeyPair();
const keyBundle = JSON.stringify(await signManifestStatement(manifest, createSigner({ privateKey: keys.privateKeyPem })));
const keyPolicy = SignerPolicy.parse({ publicKeys: [keys.publicKeyPem] });

const ca = createCa({ name: 'Bench CA' });
const tsa = createTsa(ca);
const leafKeys = generateKeyPair();
const certificate = issueLeaf(ca, { publicKey: leafKeys.publicKeyPem, identity: 'mailto:release@acme.example' });
const responder = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
const certBundle = JSON.stringify(await signManifestStatement(manifest, createSigner({ privateKey: leafKeys.privateKeyPem, certificate, timestamp: { responder } })));
const certPolicy = SignerPolicy.parse({
  identities: [{ identity: 'mailto:release@acme.example' }],
  trustedRoot: buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem }] }),
});

const raw = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const data = Buffer.from(keyBundle);
const signature = createSign('sha256').update(data).sign(raw.privateKey);

function measure(fn) {
  for (let i = 0; i < 50; i++) fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const cache = new VerificationCache({ maxEntries: 16 });
const results = {
  'raw node:crypto P-256 verify': measure(() => {
    if (!createVerify('sha256').update(data).verify(raw.publicKey, signature)) throw new Error('raw verify failed');
  }),
  'key-signed bundle': measure(() => verifyManifestBundle(keyBundle, manifest, keyPolicy)),
  'cert+timestamp bundle': measure(() => verifyManifestBundle(certBundle, manifest, certPolicy)),
  'cert+timestamp bundle, cached': measure(() => verifyManifestBundle(certBundle, manifest, certPolicy, { cache })),
};
const base = results['raw node:crypto P-256 verify'];
console.log(`node ${process.version}, ${seconds}s per case`);
for (const [name, perSecond] of Object.entries(results)) {
  console.log(`${name.padEnd(32)} ${perSecond.toFixed(0).padStart(8)} /s   raw/this ${(base / perSecond).toFixed(1).padStart(6)}x`);
}
