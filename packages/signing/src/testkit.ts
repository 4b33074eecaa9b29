/**
 * Test material (not built into dist): a manifest, an organisation CA with a timestamp
 * authority, and signers, all real keys and certificates made fresh for each suite.
 */
import { parseManifest, type Manifest } from '@sigil/manifest';
import { expect } from 'vitest';
import { SigningError } from './errors.js';
import { createCa, createSigner, createTimestampResponder, createTsa, generateKeyPair, issueLeaf, type CaMaterial, type KeyPair, type TsaMaterial } from './sign/index.js';
import { buildTrustedRoot, type TrustedRootJson } from './trusted-root.js';

export function makeManifest(overrides: Record<string, unknown> = {}): Manifest {
  return parseManifest(
    JSON.stringify({
      name: 'io.github.acme/weather',
      description: 'Weather for agents',
      version: '1.2.0',
      repository: { url: 'https://github.com/acme/weather-mcp', source: 'github' },
      tools: [
        { name: 'get_forecast', description: 'Daily forecast for a city.', inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, annotations: { readOnlyHint: true } },
      ],
      ...overrides,
    }),
  );
}

export interface Pki {
  ca: CaMaterial;
  tsa: TsaMaterial;
  respond: ReturnType<typeof createTimestampResponder>;
  trustedRoot: TrustedRootJson;
}

/** A CA and a TSA under it; `since` backdates both (to timestamp "in the past"). */
export function makePki(name = 'Acme CA', since?: Date): Pki {
  const ca = createCa({ name, ...(since ? { now: since } : {}) });
  const tsa = createTsa(ca, since ? { now: since } : {});
  const respond = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
  const trustedRoot = buildTrustedRoot({ certificateAuthorities: [{ certificates: ca.chainPem }], timestampAuthorities: [{ certificates: tsa.chainPem }] });
  return { ca, tsa, respond, trustedRoot };
}

/** A key pair, a leaf for `identity` under `pki.ca`, and a signer timestamping with `pki`'s TSA. */
export function certSigner(pki: Pki, identity: string, options: { notBefore?: Date; notAfter?: Date; tsaNow?: Date; respond?: Pki['respond']; ca?: CaMaterial } = {}) {
  const keys: KeyPair = generateKeyPair();
  const certificate = issueLeaf(options.ca ?? pki.ca, { publicKey: keys.publicKeyPem, identity, ...(options.notBefore ? { notBefore: options.notBefore } : {}), ...(options.notAfter ? { notAfter: options.notAfter } : {}) });
  const tsaNow = options.tsaNow;
  const respond = options.respond ?? (tsaNow ? createTimestampResponder({ privateKey: pki.tsa.privateKeyPem, certificateChain: pki.tsa.chainPem, now: () => tsaNow }) : pki.respond);
  const signer = createSigner({ privateKey: keys.privateKeyPem, certificate, timestamp: { responder: respond }, ...(tsaNow ? { now: tsaNow } : {}) });
  return { keys, certificate, signer };
}

/** The code of the SigningError `fn` throws (anything else thrown, or nothing, fails the test). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SigningError);
    return (e as SigningError).code;
  }
  throw new Error('expected a SigningError, nothing was thrown');
}
