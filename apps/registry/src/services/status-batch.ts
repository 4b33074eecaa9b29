import { IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, STATUS_BATCH_PREDICATE_TYPE, STATUS_BATCH_SUBJECT } from '@sigil/signing/verify';
import { type Hash, hashChildren, hashLeaf } from '@sigil/tlog';
import type { BundleSigner } from '@sigil/signing/sign';

/** What one status request asks: the references, the host's nonce, and the registry's origin as asked. */
export interface StatusQuestion {
  refs: readonly string[];
  nonce: string | undefined;
  registryUrl: string;
}

/** Most statements one batch signature covers: a proof is then at most 8 hashes. */
export const MAX_STATUS_BATCH = 256;

/** A status statement signed in a batch, as `POST /v1/status` answers it when asked with `batch: true`. */
export interface BatchedStatus {
  /** The Sigstore bundle of the batch statement (subject: the tree's root). */
  bundle: Record<string, unknown>;
  /** This answer's status statement, base64 of its exact bytes (the tree's leaf). */
  statement: string;
  /** Its index, the tree size, and the inclusion path from leaf to root (hex). */
  proof: { index: number; treeSize: number; hashes: string[] };
}

/** A batched answer and its JSON text (what JSON.stringify writes for it, spliced from the batch's parts). */
export interface BatchedAnswer {
  answer: BatchedStatus;
  text: string;
}

/**
 * One batch's tree, level by level from the leaves, a lone last node carried up unchanged: the
 * tree RFC 9162 section 2.1 defines (split at the largest power of two below the size), so the
 * root and each inclusion path are the ones its section 2.1.3.2 check recomputes.
 */
class BatchTree {
  private readonly levels: Hash[][];
  private hex: string[][] | undefined;

  constructor(leaves: Hash[]) {
    this.levels = [leaves];
    for (let level = leaves; level.length > 1; ) {
      const up: Hash[] = [];
      for (let j = 0; j + 1 < level.length; j += 2) up.push(hashChildren(level[j]!, level[j + 1]!));
      if (level.length % 2 === 1) up.push(level[level.length - 1]!);
      this.levels.push(up);
      level = up;
    }
  }

  get root(): Hash {
    return this.levels[this.levels.length - 1]![0]!;
  }

  /** The inclusion path of leaf `index`, leaf to root: the sibling at each level that has one, in hex. */
  proof(index: number): string[] {
    // Each node's hex once per batch: the proofs of a batch share most of their nodes.
    const hex = (this.hex ??= this.levels.map((level) => level.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex'))));
    const path: string[] = [];
    for (let l = 0, i = index; l < hex.length - 1; l++, i >>= 1) {
      const sibling = hex[l]![i ^ 1];
      if (sibling !== undefined) path.push(sibling);
    }
    return path;
  }
}

/**
 * Answers status questions in batches, as Roughtime signs its answers: the questions asked in one
 * turn of the event loop (the requests read in one poll of the sockets, at most
 * {@link MAX_STATUS_BATCH}) are answered from one read of the database made at the end of that
 * turn (`setImmediate`), their statements become the leaves of a Merkle tree, and one ECDSA
 * signature over an in-toto statement naming its root covers them all; each answer carries its
 * inclusion proof. Nothing is cached across batches: every answer says what the database held
 * when it was made, a turn after its request was read.
 */
export class StatusBatcher {
  private queue: Array<{ question: StatusQuestion; resolve: (answer: BatchedAnswer) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  /**
   * @param statements makes the statements answering questions, in order (an Error in place of one it could not make), from one read of the database made then (issue-status.ts `statusStatements`)
   * @param signer the registry's status key
   */
  constructor(
    private readonly statements: (questions: readonly StatusQuestion[]) => Promise<Array<Buffer | Error>>,
    private readonly signer: BundleSigner,
  ) {}

  /** Resolves with the batched answer to `question` once its batch is read and signed. */
  answer(question: StatusQuestion): Promise<BatchedAnswer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ question, resolve, reject });
      if (this.queue.length >= MAX_STATUS_BATCH) this.flush();
      else this.soon();
    });
  }

  /**
   * Makes sure a batch closes at the end of this turn: called as a request begins, after its token
   * is asked for (on SQLite the token reads of a turn are answered at its end: @sigil/db
   * read-memo.ts), so its question, asked once the token is read, joins this turn's batch and not
   * the next turn's. A batch with no question does nothing.
   */
  soon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.sign(batch.map((b) => b.question)).then(
      // A question whose statement could not be made (one over the statement limit) fails alone.
      (answers) => batch.forEach((b, i) => (answers[i] instanceof Error ? b.reject(answers[i]) : b.resolve(answers[i] as BatchedAnswer))),
      (e: unknown) => {
        for (const b of batch) b.reject(e);
      },
    );
  }

  private async sign(questions: StatusQuestion[]): Promise<Array<BatchedAnswer | Error>> {
    const made = await this.statements(questions);
    // Only the statements made are leaves: one question's failure is never its batch's.
    const payloads = made.filter((p): p is Buffer => !(p instanceof Error));
    if (payloads.length === 0) return made as Error[];
    const treeSize = payloads.length;
    const tree = new BatchTree(payloads.map((p) => hashLeaf(p)));
    const root = Buffer.from(tree.root).toString('hex');
    const statement = { _type: STATEMENT_TYPE, subject: [{ name: STATUS_BATCH_SUBJECT, digest: { sha256: root } }], predicateType: STATUS_BATCH_PREDICATE_TYPE, predicate: { treeSize } };
    const bundle = (await this.signer.signDsse(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE)) as unknown as Record<string, unknown>;
    // The bundle's text once for the batch; each answer splices it (JSON.stringify's bytes for the whole answer).
    const head = `{"bundle":${JSON.stringify(bundle)},"statement":"`;
    let index = 0;
    return made.map((payload) => {
      if (payload instanceof Error) return payload;
      const statementText = payload.toString('base64');
      index += 1;
      const proof = { index: index - 1, treeSize, hashes: tree.proof(index - 1) };
      // JSON.stringify's text for the proof: numbers and hex strings, nothing to escape.
      const proofText = `{"index":${index - 1},"treeSize":${treeSize},"hashes":[${proof.hashes.length ? `"${proof.hashes.join('","')}"` : ''}]}`;
      return { answer: { bundle, statement: statementText, proof }, text: `${head}${statementText}","proof":${proofText}}` };
    });
  }
}
