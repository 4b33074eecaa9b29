import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyTlogEntry } from './bundle-entry.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
import { parseEntryBody } from './entries.js';
import { TlogError } from './errors.js';
import { hashLeaf } from './hash.js';
import { ed25519NoteSigner, ed25519NoteVerifier, openNote, parseNote, parseVerifierKey } from './note.js';
import { parseEntryBundle, parseTilePath } from './tiles.js';

/** Runs fn; anything thrown must be a TlogError (never a TypeError, RangeError or SyntaxError). */
function onlyCoded(fn: () => unknown): 'ok' | string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof TlogError) return e.code;
    throw e;
  }
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const ORIGIN = 'log.sigil.test';
const signer = ed25519NoteSigner(ORIGIN, privateKey);
const verifier = ed25519NoteVerifier(ORIGIN, publicKey);
const root = hashLeaf(Buffer.from('root'));
const envelope = signCheckpoint({ origin: ORIGIN, size: 12345, root, extensions: [] }, signer);

describe('when fed arbitrary input, the parsers refuse with a code and never crash', () => {
  it('notes, checkpoints, vkeys, tile paths, entry bundles, entry bodies and bundle entries', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), (text, bytes) => {
        onlyCoded(() => parseNote(text));
        onlyCoded(() => parseNote(bytes));
        onlyCoded(() => openNote(text, [verifier]));
        onlyCoded(() => parseCheckpoint(text));
        onlyCoded(() => openCheckpoint(text, verifier));
        onlyCoded(() => parseVerifierKey(text));
        onlyCoded(() => parseTilePath(text));
        onlyCoded(() => parseEntryBundle(bytes, 1 + (bytes.length % 256)));
        onlyCoded(() => parseEntryBody(bytes));
        onlyCoded(() => parseEntryBody(Buffer.from(text)));
        onlyCoded(() => verifyTlogEntry(JSON.parse(JSON.stringify({ logId: { keyId: text }, inclusionProof: { checkpoint: { envelope: text }, hashes: [text] }, logIndex: text })), { logVerifier: verifier, logId: root }));
      }),
      { numRuns: 500, seed: 2014 },
    );
    // 500 runs of ten parsers take about 5 s on a loaded 2-core machine: room above vitest's 5 s default.
  }, 60_000);

  it('refuses every single-character change of a signed checkpoint', () => {
    expect(openCheckpoint(envelope, verifier).checkpoint.size).toBe(12345);
    const chars = [...envelope];
    fc.assert(
      fc.property(fc.nat({ max: chars.length - 1 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }), (at, replacement) => {
        fc.pre(replacement !== chars[at]);
        const changed = [...chars.slice(0, at), replacement, ...chars.slice(at + 1)].join('');
        expect(onlyCoded(() => openCheckpoint(changed, verifier))).not.toBe('ok');
      }),
      { numRuns: 1000, seed: 2015 },
    );
  });

  it('refuses every deletion or insertion of one character', () => {
    for (let at = 0; at < envelope.length; at++) {
      const deleted = envelope.slice(0, at) + envelope.slice(at + 1);
      expect(onlyCoded(() => openCheckpoint(deleted, verifier)), `delete ${at}`).not.toBe('ok');
      const inserted = envelope.slice(0, at) + 'A' + envelope.slice(at);
      expect(onlyCoded(() => openCheckpoint(inserted, verifier)), `insert ${at}`).not.toBe('ok');
    }
    expect(formatCheckpoint(parseCheckpoint(envelope.slice(0, envelope.indexOf('\n\n') + 1)))).toBe(envelope.slice(0, envelope.indexOf('\n\n') + 1));
  });
});
