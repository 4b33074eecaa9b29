import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { type Checkpoint, openCheckpoint, signCheckpoint } from './checkpoint.js';
import type { TlogError } from './errors.js';
import { hashLeaf } from './hash.js';
import { acceptCheckpoint, checkLogExtension } from './log-state.js';
import { ed25519NoteSigner, ed25519NoteVerifier } from './note.js';
import { consistencyProof, MemoryHashStore } from './tree.js';


const ORIGIN = 'log.sigil.test';

/** A log and a host: the log signs checkpoints; the host opens them with the log key only. */
function setup() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = ed25519NoteSigner(ORIGIN, privateKey);
  const verifier = ed25519NoteVerifier(ORIGIN, publicKey);
  const store = new MemoryHashStore();
  const grow = (n: number, tag = 'entry'): void => {
    for (let i = 0; i < n; i++) store.append(hashLeaf(Buffer.from(`${tag} ${store.size}`)));
  };
  /** A signed checkpoint of `s`, as the host receives it, opened with the log key. */
  const checkpointOf = (s: MemoryHashStore): Checkpoint => openCheckpoint(signCheckpoint({ origin: ORIGIN, size: s.size, root: s.root(), extensions: [] }, signer), verifier).checkpoint;
  const envelopeOf = (s: MemoryHashStore): string => signCheckpoint({ origin: ORIGIN, size: s.size, root: s.root(), extensions: [] }, signer);
  return { store, grow, checkpointOf, envelopeOf, verifier };
}

describe('when a host checks a new checkpoint against the one it stored', () => {
  it('accepts a consistent extension, and the same tree again', () => {
    const { store, grow, checkpointOf } = setup();
    grow(13);
    const stored = checkpointOf(store);
    grow(29);
    const next = checkpointOf(store);
    expect(checkLogExtension(stored, next, consistencyProof(stored.size, next.size, store))).toBe('extended');
    expect(checkLogExtension(next, next, [])).toBe('unchanged');
  });

  it('refuses a smaller tree as LOG_ROLLBACK', () => {
    const { store, grow, checkpointOf } = setup();
    grow(10);
    const old = checkpointOf(store);
    grow(5);
    const stored = checkpointOf(store);
    expect(codeOf(() => checkLogExtension(stored, old, []))).toBe('LOG_ROLLBACK');
  });

  it('refuses a fork (same size, other root) and a rewritten history as LOG_INCONSISTENT', () => {
    const { store, grow, checkpointOf } = setup();
    grow(10);
    const stored = checkpointOf(store);
    // The operator rebuilds the log with entry 4 dropped and another appended: same size.
    const forked = new MemoryHashStore();
    for (let i = 0; i < 11; i++) if (i !== 4) forked.append(hashLeaf(Buffer.from(`entry ${i}`)));
    const fork = checkpointOf(forked);
    expect(fork.size).toBe(stored.size);
    expect(codeOf(() => checkLogExtension(stored, fork, []))).toBe('LOG_INCONSISTENT');
    // It grows the forked log; no proof from the stored tree can lead there.
    for (let i = 0; i < 6; i++) forked.append(hashLeaf(Buffer.from(`more ${i}`)));
    const later = checkpointOf(forked);
    expect(codeOf(() => checkLogExtension(stored, later, consistencyProof(stored.size, later.size, forked)))).toBe('LOG_INCONSISTENT');
    // Nor a proof from the honest log, nor none at all.
    grow(6);
    expect(codeOf(() => checkLogExtension(stored, later, consistencyProof(stored.size, later.size, store)))).toBe('LOG_INCONSISTENT');
    expect(codeOf(() => checkLogExtension(stored, later, []))).toBe('LOG_INCONSISTENT');
  });

  it('keeps the proof failure as the cause', () => {
    const { store, grow, checkpointOf } = setup();
    grow(3);
    const stored = checkpointOf(store);
    grow(3);
    const next = checkpointOf(store);
    try {
      checkLogExtension(stored, next, []);
      expect.unreachable();
    } catch (e) {
      expect((e as TlogError).code).toBe('LOG_INCONSISTENT');
      expect(((e as TlogError).cause as TlogError).code).toBe('CONSISTENCY_PROOF_INVALID');
    }
  });

  it('refuses a checkpoint of another log as LOG_INCONSISTENT', () => {
    const { store, grow, checkpointOf } = setup();
    grow(3);
    const stored = checkpointOf(store);
    expect(codeOf(() => checkLogExtension(stored, { ...stored, origin: 'other.log' }, []))).toBe('LOG_INCONSISTENT');
  });
});

describe('when a host accepts checkpoint envelopes (acceptCheckpoint)', () => {
  it('takes the first, then consistent extensions; refuses rollback, forks and a tampered stored file', () => {
    const { store, grow, envelopeOf, verifier } = setup();
    grow(7);
    const first = envelopeOf(store);
    expect(acceptCheckpoint({ stored: undefined, next: first, proof: [], logVerifier: verifier }).change).toBe('first');
    grow(9);
    const second = envelopeOf(store);
    const accepted = acceptCheckpoint({ stored: first, next: second, proof: consistencyProof(7, 16, store), logVerifier: verifier });
    expect(accepted.change).toBe('extended');
    expect(accepted.checkpoint.envelope).toBe(second);
    expect(acceptCheckpoint({ stored: second, next: second, proof: [], logVerifier: verifier }).change).toBe('unchanged');
    const rollback = (() => { try { acceptCheckpoint({ stored: second, next: first, proof: [], logVerifier: verifier }); return 'accepted'; } catch (e) { return (e as TlogError).code; } })();
    expect(rollback).toBe('LOG_ROLLBACK');
    const other = setup();
    other.grow(16);
    // Another key signs a tree of the same size: not the log's checkpoint at all.
    expect(codeOf(() => acceptCheckpoint({ stored: second, next: other.envelopeOf(other.store), proof: [], logVerifier: verifier }))).toBe('NOTE_UNVERIFIED');
    expect(codeOf(() => acceptCheckpoint({ stored: second.replace('\n16\n', '\n17\n'), next: second, proof: [], logVerifier: verifier }))).toBe('NOTE_SIGNATURE_INVALID');
    expect(codeOf(() => acceptCheckpoint({ stored: first, next: second, proof: [], logVerifier: verifier }))).toBe('LOG_INCONSISTENT');
  });
});
