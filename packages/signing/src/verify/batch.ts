import { hashLeaf, TlogError, verifyInclusion } from '@sigil/tlog';
import { SigningError } from '../errors.js';
import { MAX_STATUS_BATCH_LEAVES, STATEMENT_LIMITS, STATUS_BATCH_PREDICATE_TYPE, STATUS_BATCH_SUBJECT, StatusBatchPredicate, type Statement } from '../statements.js';
import { parseStatement, verifyStatementBundle, type VerifyOptions } from './attestations.js';
import type { BundleInput } from './bundle.js';
import type { VerifiedSigner } from './types.js';

/**
 * A statement signed as one leaf of a batch: `bundle` signs the batch (its subject's sha256 is
 * the Merkle tree root), `statement` is this leaf's exact bytes in base64, `proof` its place.
 */
export interface BatchedStatement {
  bundle: BundleInput;
  statement: string;
  proof: { index: number; treeSize: number; hashes: readonly string[] };
}

const HEX_HASH = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Deepest inclusion path of a batch of {@link MAX_STATUS_BATCH_LEAVES} leaves. */
const MAX_PATH = Math.ceil(Math.log2(MAX_STATUS_BATCH_LEAVES));

/**
 * Verifies a statement signed in a batch (the registry's batched status, as Roughtime signs its
 * answers): a pipeline of named steps, each failing closed with a coded error.
 * 1. The batch statement is signed by `publicKey`, of the batch predicate type, with exactly one
 *    subject, the root (`SIGNATURE_INVALID`, `SIGNER_UNTRUSTED`, `STATEMENT_INVALID`, `BUNDLE_INVALID`).
 * 2. The proof walks a tree of the size the batch signature states (`SIGNATURE_INVALID`).
 * 3. RFC 9162 section 2.1.3.2: the leaf hash of the exact statement bytes, with the proof's path,
 *    leads to the signed root (`SIGNATURE_INVALID`): a proof of another answer, a changed byte of
 *    the statement or a changed hash of the path all fail here.
 * 4. Only then the verified bytes are parsed: an in-toto Statement of `expect.predicateType`
 *    (`STATEMENT_INVALID`).
 * @example const { statement } = verifyBatchedStatement({ bundle, statement, proof }, statusKeyPem, { predicateType: STATUS_PREDICATE_TYPE });
 */
export function verifyBatchedStatement(answer: BatchedStatement, publicKey: string, expect: { predicateType: string }, options: VerifyOptions = {}): { statement: Statement; signer: VerifiedSigner; root: string } {
  const invalid = (message: string, cause?: unknown): never => {
    throw new SigningError('SIGNATURE_INVALID', message, cause === undefined ? undefined : { cause });
  };
  // 1. The batch signature.
  const batch = verifyStatementBundle(answer.bundle, publicKey, { predicateType: STATUS_BATCH_PREDICATE_TYPE }, options);
  const subject = batch.statement.subject;
  const root = subject.length === 1 && subject[0]!.name === STATUS_BATCH_SUBJECT ? subject[0]!.digest.sha256 : undefined;
  if (root === undefined || !HEX_HASH.test(root)) throw new SigningError('STATEMENT_INVALID', `a status batch statement has one subject, ${STATUS_BATCH_SUBJECT}, with the sha256 of the tree's root`);
  const predicate = StatusBatchPredicate.safeParse(batch.statement.predicate, { jitless: true });
  if (!predicate.success) throw new SigningError('STATEMENT_INVALID', 'the status batch predicate is not {treeSize}', { cause: predicate.error });
  // 2. The tree size.
  const { proof } = answer;
  if (typeof proof !== 'object' || proof === null || !Number.isSafeInteger(proof.index) || !Number.isSafeInteger(proof.treeSize) || !Array.isArray(proof.hashes) || proof.hashes.length > MAX_PATH) {
    return invalid('the batch inclusion proof is malformed');
  }
  if (proof.treeSize !== predicate.data.treeSize) invalid(`the inclusion proof is for a batch of ${proof.treeSize}, the batch signature covers ${predicate.data.treeSize}`);
  if (!proof.hashes.every((h) => typeof h === 'string' && HEX_HASH.test(h))) invalid('the batch inclusion proof holds a hash that is not 64 hex digits');
  // 3. The exact statement bytes, up to the signed root.
  if (typeof answer.statement !== 'string' || answer.statement.length > 4 * Math.ceil(STATEMENT_LIMITS.payloadBytes / 3) || !BASE64.test(answer.statement)) {
    throw new SigningError('STATEMENT_INVALID', 'the batched statement is not base64 within the statement limit');
  }
  const bytes = Buffer.from(answer.statement, 'base64');
  try {
    verifyInclusion(
      proof.index,
      proof.treeSize,
      hashLeaf(bytes),
      proof.hashes.map((h) => Buffer.from(h, 'hex')),
      Buffer.from(root, 'hex'),
    );
  } catch (e) {
    if (e instanceof TlogError) invalid(`the statement is not in the signed batch: ${e.message}`, e);
    throw e;
  }
  // 4. Parse only the verified bytes.
  const statement = parseStatement(bytes);
  if (statement.predicateType !== expect.predicateType) throw new SigningError('STATEMENT_INVALID', `the predicate type is ${JSON.stringify(statement.predicateType.slice(0, 200))}, expected ${expect.predicateType}`);
  return { statement, signer: batch.signer, root };
}
