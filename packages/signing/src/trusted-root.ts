import type { X509Certificate } from 'node:crypto';
import { TrustedRoot as TrustedRootMessage } from '@sigstore/protobuf-specs';
import { z } from 'zod';
import { SigningError } from './errors.js';
import { parseCertificate, splitPemCertificates } from './keys.js';
import { deferSchema } from '@sigil/manifest';

/** Media type we write (the one every Sigstore client reads). */
export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

const Base64 = deferSchema(() => z.string().max(64 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/));
// protobuf JSON writes absent fields as null as well as leaving them out: accept both.
const ValidFor = deferSchema(() => z.object({ start: z.string().max(64).nullish(), end: z.string().max(64).nullish() }));
const CertChain = deferSchema(() => z.object({ certificates: z.array(z.object({ rawBytes: Base64 })).min(1).max(16) }));
const Authority = deferSchema(() => z.object({
  subject: z.object({ organization: z.string().max(256).nullish(), commonName: z.string().max(256).nullish() }).nullish(),
  uri: z.string().max(2048).nullish(),
  certChain: CertChain,
  validFor: ValidFor.nullish(),
}));
const Log = deferSchema(() => z.object({
  baseUrl: z.string().max(2048).nullish(),
  hashAlgorithm: z.string().max(64).nullish(),
  publicKey: z.object({ rawBytes: Base64, keyDetails: z.string().max(64), validFor: ValidFor.nullish() }),
  logId: z.object({ keyId: Base64 }),
  checkpointKeyId: z.object({ keyId: Base64 }).nullish(),
  operator: z.string().max(256).nullish(),
}));

/**
 * A Sigstore `trusted_root.json` document (protobuf-specs `TrustedRoot` in its JSON form),
 * bounded: at most 64 authorities of each kind. Extra fields are allowed, as the format grows.
 */
export const TrustedRootJson = deferSchema(() => z.object({
  mediaType: z.string().max(128),
  tlogs: z.array(Log).max(64).default([]),
  certificateAuthorities: z.array(Authority).max(64).default([]),
  ctlogs: z.array(Log).max(64).default([]),
  timestampAuthorities: z.array(Authority).max(64).default([]),
}));
export type TrustedRootJson = z.infer<typeof TrustedRootJson>;

/** One certificate authority or TSA for {@link buildTrustedRoot}. */
export interface AuthorityInput {
  /**
   * PEM certificates. For a CA: the CA certificates, issuing CA first and the self-signed root
   * last. For a TSA: the TSA's signing certificate first, then its CA chain up to the root.
   */
  certificates: string;
  /** Where the authority lives (informational). */
  uri?: string;
  /** Start of the period the authority is trusted for; defaults to the first certificate's notBefore. */
  validFrom?: Date;
  /** End of that period; open when absent. */
  validUntil?: Date;
}

/**
 * Builds a Sigstore trusted root from an organisation's CA certificates and TSA chains. No
 * transparency or CT logs: Sigil's certificates are trusted through the CA and a timestamp.
 * (Plain public keys have no place in the TrustedRoot format; pin them in the signer policy.)
 * @example
 * const root = buildTrustedRoot({
 *   certificateAuthorities: [{ certificates: readFileSync('ca/ca.crt', 'utf8') }],
 *   timestampAuthorities: [{ certificates: readFileSync('tsa/chain.pem', 'utf8'), uri: 'https://registry.example/api/v1/timestamp' }],
 * });
 * writeFileSync('trusted_root.json', JSON.stringify(root, null, 2));
 */
export function buildTrustedRoot(input: { certificateAuthorities?: readonly AuthorityInput[]; timestampAuthorities?: readonly AuthorityInput[] }): TrustedRootJson {
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [],
    certificateAuthorities: (input.certificateAuthorities ?? []).map(toAuthority),
    ctlogs: [],
    timestampAuthorities: (input.timestampAuthorities ?? []).map(toAuthority),
  };
}

function toAuthority(input: AuthorityInput): TrustedRootJson['certificateAuthorities'][number] {
  const certs = splitPemCertificates(input.certificates).map(parseCertificate);
  const first = certs[0]!;
  const validFrom = input.validFrom ?? new Date(first.validFrom);
  return {
    subject: distinguishedName(first),
    ...(input.uri ? { uri: input.uri } : {}),
    certChain: { certificates: certs.map((c) => ({ rawBytes: c.raw.toString('base64') })) },
    validFor: { start: validFrom.toISOString(), ...(input.validUntil ? { end: input.validUntil.toISOString() } : {}) },
  };
}

function distinguishedName(cert: X509Certificate): { organization?: string; commonName?: string } {
  const fields = new Map(cert.subject.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const));
  const organization = fields.get('O');
  const commonName = fields.get('CN');
  return { ...(organization ? { organization } : {}), ...(commonName ? { commonName } : {}) };
}

/**
 * Parses and bounds a trusted root document, then decodes it into the protobuf-specs message
 * the Sigstore libraries take.
 * @throws SigningError `POLICY_INVALID`
 */
export function parseTrustedRoot(value: unknown): { json: TrustedRootJson; message: TrustedRootMessage } {
  // Once per trusted root: zod's compiled fast path (new Function on the first parse) would cost
  // more than it saves.
  const parsed = TrustedRootJson.safeParse(value, { jitless: true });
  if (!parsed.success) throw new SigningError('POLICY_INVALID', `not a Sigstore trusted root: ${z.prettifyError(parsed.error).slice(0, 500)}`, { cause: parsed.error });
  try {
    return { json: parsed.data, message: TrustedRootMessage.fromJSON(parsed.data) };
  } catch (cause) {
    throw new SigningError('POLICY_INVALID', 'the trusted root does not decode', { cause });
  }
}
