import { createHash, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { z } from 'zod';
import { SigningError } from '../errors.js';
import { parseCertificate, splitPemCertificates } from '../keys.js';
import { algorithm, ecdsaSign, explicit, fromDer, generalizedTime, integer, octets, oid, OID, randomSerial, seq, set, toDer, valueBytes, type Asn1 } from './der.js';
import { parsePrivateKey } from './keys.js';
import { deferSchema } from '@sigil/manifest';

/**
 * Answers one timestamp request: the request body (JSON in the Sigstore timestamp-authority
 * format, or a DER RFC 3161 TimeStampReq) and its content type, returning a DER TimeStampResp.
 * Throws `SigningError('TIMESTAMP_REQUEST_INVALID')` on a bad request (answer 400).
 */
export type TimestampResponder = (body: Uint8Array, contentType?: string) => Uint8Array;

/** Content type of a TimeStampResp. */
export const TIMESTAMP_REPLY_CONTENT_TYPE = 'application/timestamp-reply';
/** Content type of a DER TimeStampReq. */
export const TIMESTAMP_QUERY_CONTENT_TYPE = 'application/timestamp-query';
/** Largest request accepted, in bytes. */
export const MAX_TIMESTAMP_REQUEST_BYTES = 4096;
/** Default TSA policy OID (a private arc; override with the organisation's own). */
export const DEFAULT_TSA_POLICY_OID = '1.3.6.1.4.1.57264.2';

const HASHES = { sha256: { oid: OID.sha256, length: 32 }, sha384: { oid: OID.sha384, length: 48 }, sha512: { oid: OID.sha512, length: 64 } } as const;
type HashName = keyof typeof HASHES;

/** The JSON request of Sigstore's timestamp-authority (`POST /api/v1/timestamp`). */
const JsonRequest = deferSchema(() => z.object({
  artifactHash: z.string().max(128),
  hashAlgorithm: z.enum(['sha256', 'sha384', 'sha512']),
  nonce: z.union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,40}$/)]).optional(),
  certificates: z.boolean().optional(),
  tsaPolicyOID: z.string().regex(/^\d+(\.\d+)+$/).max(128).optional(),
}));

interface ParsedRequest {
  hash: HashName;
  digest: Buffer;
  nonce?: Buffer;
  certReq: boolean;
  policy?: string;
}

/**
 * Makes an RFC 3161 timestamp responder from a TSA key and its certificate chain (TSA
 * certificate first). The registry mounts it at `POST /api/v1/timestamp`; the stock
 * `TSAWitness` of @sigstore/sign, `openssl ts -query` and Sigstore clients can all use it.
 * @example
 * const respond = createTimestampResponder({ privateKey: tsa.privateKeyPem, certificateChain: tsa.chainPem });
 * // in a route: c.body(respond(await c.req.arrayBuffer(), c.req.header('content-type')), 200, { 'content-type': TIMESTAMP_REPLY_CONTENT_TYPE })
 * @throws SigningError `KEY_INVALID` when the key is not the TSA certificate's or the certificate lacks timeStamping
 */
export function createTimestampResponder(options: { privateKey: string | KeyObject; certificateChain: string; policyOid?: string; now?: () => Date }): TimestampResponder {
  const key = parsePrivateKey(options.privateKey);
  const chain = splitPemCertificates(options.certificateChain).map(parseCertificate);
  const tsaCert = chain[0]!;
  if (!tsaCert.checkPrivateKey(key)) throw new SigningError('KEY_INVALID', 'the TSA key is not the key of the first certificate of the chain');
  if (!(tsaCert.keyUsage ?? []).includes(OID.timeStamping)) throw new SigningError('KEY_INVALID', 'the TSA certificate lacks the timeStamping extended key usage');
  const tsaTbs = (fromDer(tsaCert.raw).value as Asn1[])[0]!.value as Asn1[];
  // IssuerAndSerialNumber of the TSA certificate, taken from its own DER.
  const sid = seq([fromDer(toDer(tsaTbs[3]!)), fromDer(toDer(tsaTbs[1]!))]);
  const essCertId = seq([seq([seq([octets(createHash('sha256').update(tsaCert.raw).digest())])])]);
  const defaultPolicy = options.policyOid ?? DEFAULT_TSA_POLICY_OID;
  const now = options.now ?? (() => new Date());

  return (body, contentType) => {
    const request = parseRequest(body, contentType);
    const tstInfo = seq([
      integer(1),
      oid(request.policy ?? defaultPolicy),
      seq([algorithm(HASHES[request.hash].oid), octets(request.digest)]),
      integer(randomSerial()),
      generalizedTime(now()),
      ...(request.nonce ? [integer(request.nonce)] : []),
    ]);
    const tstInfoDer = toDer(tstInfo);
    const signedAttrs = [
      seq([oid(OID.contentType), set([oid(OID.tstInfo)])]),
      seq([oid(OID.messageDigest), set([octets(createHash('sha256').update(tstInfoDer).digest())])]),
      seq([oid(OID.signingCertificateV2), set([essCertId])]),
    ];
    // The signature covers the DER SET OF the attributes; in SignerInfo the same bytes carry an implicit [0] tag.
    const attrsDer = toDer(set(signedAttrs));
    const signature = ecdsaSign(attrsDer, key);
    const attrsImplicit = fromDer(attrsDer);
    attrsImplicit.tagClass = forge.asn1.Class.CONTEXT_SPECIFIC;
    attrsImplicit.type = 0;
    const signerInfo = seq([integer(1), sid, algorithm(OID.sha256), attrsImplicit, algorithm(OID.ecdsaWithSha256), octets(signature)]);
    const certificates = request.certReq ? [implicitSet(0, chain.map((c) => fromDer(c.raw)))] : [];
    const signedData = seq([integer(3), set([algorithm(OID.sha256)]), seq([oid(OID.tstInfo), explicit(0, octets(tstInfoDer))]), ...certificates, set([signerInfo])]);
    const response = seq([seq([integer(0)]), seq([oid(OID.signedData), explicit(0, signedData)])]);
    return toDer(response);
  };
}

function implicitSet(tag: number, items: Asn1[]): Asn1 {
  const s = set(items);
  s.tagClass = forge.asn1.Class.CONTEXT_SPECIFIC;
  s.type = tag;
  return s;
}

function parseRequest(body: Uint8Array, contentType?: string): ParsedRequest {
  if (body.byteLength === 0 || body.byteLength > MAX_TIMESTAMP_REQUEST_BYTES) throw invalid(`the request must be 1 to ${MAX_TIMESTAMP_REQUEST_BYTES} bytes`);
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const looksJson = type === 'application/json' || (type === '' && body[0] === 0x7b);
  return looksJson ? parseJsonRequest(body) : parseDerRequest(body);
}

function parseJsonRequest(body: Uint8Array): ParsedRequest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (cause) {
    throw invalid('the request is not JSON', cause);
  }
  const parsed = JsonRequest.safeParse(json);
  if (!parsed.success) throw invalid(`the request is not a timestamp request: ${z.prettifyError(parsed.error).slice(0, 300)}`, parsed.error);
  const digest = Buffer.from(parsed.data.artifactHash, 'base64');
  if (digest.length !== HASHES[parsed.data.hashAlgorithm].length || digest.toString('base64') !== parsed.data.artifactHash) {
    throw invalid(`artifactHash must be the base64 ${parsed.data.hashAlgorithm} digest`);
  }
  const nonce = parsed.data.nonce === undefined ? undefined : bigEndian(BigInt(parsed.data.nonce));
  return { hash: parsed.data.hashAlgorithm, digest, certReq: parsed.data.certificates ?? false, ...(nonce ? { nonce } : {}), ...(parsed.data.tsaPolicyOID ? { policy: parsed.data.tsaPolicyOID } : {}) };
}

/** RFC 3161 2.4.1 TimeStampReq ::= SEQUENCE { version, messageImprint, reqPolicy?, nonce?, certReq DEFAULT FALSE, extensions [0]? } */
function parseDerRequest(body: Uint8Array): ParsedRequest {
  let root: Asn1;
  try {
    root = fromDer(body);
  } catch (cause) {
    throw invalid('the request is neither JSON nor a DER TimeStampReq', cause);
  }
  const U = forge.asn1.Class.UNIVERSAL;
  const T = forge.asn1.Type;
  const items = Array.isArray(root.value) ? (root.value as Asn1[]) : [];
  const [version, imprint, ...rest] = items;
  if (root.type !== T.SEQUENCE || !version || version.type !== T.INTEGER || valueBytes(version).toString('hex') !== '01') throw invalid('unsupported TimeStampReq version');
  if (!imprint || !Array.isArray(imprint.value) || imprint.value.length !== 2) throw invalid('malformed messageImprint');
  const [alg, hashed] = imprint.value as Asn1[];
  const algOid = Array.isArray(alg?.value) && (alg.value as Asn1[])[0] ? forge.asn1.derToOid((alg.value as Asn1[])[0]!.value as string) : '';
  const hash = (Object.keys(HASHES) as HashName[]).find((h) => HASHES[h].oid === algOid);
  if (!hash) throw invalid(`unsupported hash algorithm ${algOid}`);
  if (!hashed || hashed.type !== T.OCTETSTRING) throw invalid('malformed messageImprint');
  const digest = valueBytes(hashed);
  if (digest.length !== HASHES[hash].length) throw invalid('the message imprint has the wrong length');
  const request: ParsedRequest = { hash, digest, certReq: false };
  for (const item of rest) {
    if (item.tagClass === U && item.type === T.OID) request.policy = forge.asn1.derToOid(item.value as string);
    else if (item.tagClass === U && item.type === T.INTEGER) request.nonce = valueBytes(item);
    else if (item.tagClass === U && item.type === T.BOOLEAN) request.certReq = valueBytes(item)[0] !== 0;
    else throw invalid('request extensions are not supported');
  }
  if (request.nonce && request.nonce.length > 20) throw invalid('the nonce is longer than 20 bytes');
  return request;
}

function bigEndian(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

function invalid(message: string, cause?: unknown): SigningError {
  return new SigningError('TIMESTAMP_REQUEST_INVALID', message, cause === undefined ? undefined : { cause });
}
