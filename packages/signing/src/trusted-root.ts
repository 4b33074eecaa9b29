import type { X509Certificate } from 'node:crypto';
import { TrustedRoot as TrustedRootMessage } from '@sigstore/protobuf-specs';
import { z } from 'zod';
import { SigningError } from './errors.js';
import { parseCertificate, splitPemCertificates } from './keys.js';
import { boundedText, deferSchema, hasOnlyKeys } from '@sigil/manifest';

/** Media type we write (the one every Sigstore client reads). */
export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const Base64 = deferSchema(() => z.string().max(64 * 1024).regex(BASE64_PATTERN));
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

/**
 * A trusted root as TrustedRootJson parses it, without building the schema (a host reads its
 * pinned root at every start): the value when zod would take it and give it back as it is (every
 * key one the schema knows, none it would strip; its absent lists as the empty lists zod puts in
 * their place), otherwise undefined, and zod decides. trusted-root.test.ts compares the two.
 * @internal
 */
export function plainTrustedRoot(value: unknown): TrustedRootJson | undefined {
  if (!hasOnlyKeys(value, ROOT_KEYS) || !boundedText(value.mediaType, 0, 128)) return undefined;
  const lists: Partial<Record<(typeof ROOT_LISTS)[number], unknown[]>> = {};
  for (const key of ROOT_LISTS) {
    const list = Object.hasOwn(value, key) ? value[key] : [];
    if (!Array.isArray(list) || list.length > 64) return undefined;
    const item = key === 'certificateAuthorities' || key === 'timestampAuthorities' ? plainAuthority : plainLog;
    for (let i = 0; i < list.length; i++) if (!item(list[i])) return undefined;
    lists[key] = list;
  }
  // A copy, as zod's parse makes: nothing a caller later changes in its value reaches this one.
  return structuredClone({ ...value, ...lists }) as TrustedRootJson;
}

const ROOT_LISTS = ['tlogs', 'certificateAuthorities', 'ctlogs', 'timestampAuthorities'] as const;
const ROOT_KEYS: ReadonlySet<string> = new Set(['mediaType', ...ROOT_LISTS]);
const AUTHORITY_KEYS: ReadonlySet<string> = new Set(['subject', 'uri', 'certChain', 'validFor']);
const SUBJECT_KEYS: ReadonlySet<string> = new Set(['organization', 'commonName']);
const CHAIN_KEYS: ReadonlySet<string> = new Set(['certificates']);
const RAW_BYTES_KEYS: ReadonlySet<string> = new Set(['rawBytes']);
const VALID_FOR_KEYS: ReadonlySet<string> = new Set(['start', 'end']);
const LOG_KEYS: ReadonlySet<string> = new Set(['baseUrl', 'hashAlgorithm', 'publicKey', 'logId', 'checkpointKeyId', 'operator']);
const PUBLIC_KEY_KEYS: ReadonlySet<string> = new Set(['rawBytes', 'keyDetails', 'validFor']);
const KEY_ID_KEYS: ReadonlySet<string> = new Set(['keyId']);
/** @internal The key lists above, for the test that holds them to the schema's shapes. */
export const PLAIN_ROOT_KEYS = { root: ROOT_KEYS, authority: AUTHORITY_KEYS, subject: SUBJECT_KEYS, chain: CHAIN_KEYS, rawBytes: RAW_BYTES_KEYS, validFor: VALID_FOR_KEYS, log: LOG_KEYS, publicKey: PUBLIC_KEY_KEYS, keyId: KEY_ID_KEYS };

/** `.nullish()` of a field: absent, null, or what `ok` takes. */
const nullish = (o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): boolean => !Object.hasOwn(o, key) || o[key] === null || ok(o[key]);
const text = (max: number) => (v: unknown) => boundedText(v, 0, max);
const base64 = (v: unknown): boolean => typeof v === 'string' && v.length <= 64 * 1024 && BASE64_PATTERN.test(v);
const validFor = (v: unknown): boolean => hasOnlyKeys(v, VALID_FOR_KEYS) && nullish(v, 'start', text(64)) && nullish(v, 'end', text(64));
const keyId = (v: unknown): boolean => hasOnlyKeys(v, KEY_ID_KEYS) && base64(v.keyId);

function plainAuthority(v: unknown): boolean {
  if (!hasOnlyKeys(v, AUTHORITY_KEYS) || !nullish(v, 'uri', text(2048)) || !nullish(v, 'validFor', validFor)) return false;
  if (!nullish(v, 'subject', (s) => hasOnlyKeys(s, SUBJECT_KEYS) && nullish(s, 'organization', text(256)) && nullish(s, 'commonName', text(256)))) return false;
  const chain = v.certChain;
  if (!hasOnlyKeys(chain, CHAIN_KEYS) || !Array.isArray(chain.certificates) || chain.certificates.length < 1 || chain.certificates.length > 16) return false;
  for (let i = 0; i < chain.certificates.length; i++) {
    const c: unknown = chain.certificates[i];
    if (!hasOnlyKeys(c, RAW_BYTES_KEYS) || !base64(c.rawBytes)) return false;
  }
  return true;
}

function plainLog(v: unknown): boolean {
  if (!hasOnlyKeys(v, LOG_KEYS) || !nullish(v, 'baseUrl', text(2048)) || !nullish(v, 'hashAlgorithm', text(64)) || !nullish(v, 'operator', text(256))) return false;
  const key = v.publicKey;
  if (!hasOnlyKeys(key, PUBLIC_KEY_KEYS) || !base64(key.rawBytes) || !boundedText(key.keyDetails, 0, 64) || !nullish(key, 'validFor', validFor)) return false;
  return keyId(v.logId) && nullish(v, 'checkpointKeyId', keyId);
}

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
  const json = readTrustedRoot(value);
  return { json, message: decodeTrustedRoot(json) };
}

/**
 * Parses and bounds a trusted root document (the first half of {@link parseTrustedRoot}).
 * @throws SigningError `POLICY_INVALID`
 */
export function readTrustedRoot(value: unknown): TrustedRootJson {
  // Once per trusted root: zod's compiled fast path (new Function on the first parse) would cost
  // more than it saves.
  const json = plainTrustedRoot(value);
  if (json) return json;
  const parsed = TrustedRootJson.safeParse(value, { jitless: true });
  if (!parsed.success) throw new SigningError('POLICY_INVALID', `not a Sigstore trusted root: ${z.prettifyError(parsed.error).slice(0, 500)}`, { cause: parsed.error });
  return parsed.data;
}

/**
 * A trusted root read by {@link readTrustedRoot}, decoded into the protobuf-specs message the
 * Sigstore libraries take (the second half of {@link parseTrustedRoot}).
 * @throws SigningError `POLICY_INVALID`
 */
export function decodeTrustedRoot(json: TrustedRootJson): TrustedRootMessage {
  try {
    return TrustedRootMessage.fromJSON(json);
  } catch (cause) {
    throw new SigningError('POLICY_INVALID', 'the trusted root does not decode', { cause });
  }
}
