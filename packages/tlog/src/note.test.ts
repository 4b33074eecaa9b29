import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codeOf } from './code-of.test-helper.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT, hashLeaf } from './hash.js';
import {
  ed25519NoteSigner,
  ed25519NoteVerifier,
  ed25519PublicKeyBytes,
  formatVerifierKey,
  keyHash,
  keyIdOf,
  MAX_NOTE_BYTES,
  type NoteVerifier,
  openNote,
  parseNote,
  parseVerifierKey,
  SIG_TYPE_ED25519,
  signNote,
} from './note.js';


// Known answers. C2SP signed-note, "Verifier keys / Example" (c2sp.org/signed-note):
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
// golang.org/x/mod sumdb/note (BSD-3-Clause), package documentation and note_test.go: the
// PeterNeumann key, its private key (0x01 || Ed25519 seed) and the note it signs.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SEED = Buffer.from('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz', 'base64').subarray(1);
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE = `${PETER_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

function ed25519FromSeed(seed: Uint8Array) {
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

function newKey(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: ed25519NoteSigner(name, privateKey), verifier: ed25519NoteVerifier(name, publicKey), publicKey };
}

describe('when signing and opening notes (C2SP signed-note)', () => {
  it('verifies the published example notes with their vkeys', () => {
    expect(openNote(C2SP_NOTE, [parseVerifierKey(C2SP_VKEY)]).text).toBe('This is an example message.\n');
    const peter = openNote(PETER_NOTE, [parseVerifierKey(PETER_VKEY)]);
    expect(peter.text).toBe(PETER_TEXT);
    expect(peter.verified.map((s) => s.keyId.toString(16))).toEqual(['c74f20a3']);
  });

  it('signs byte for byte what Go sumdb/note signs, and writes the same vkey', () => {
    const key = ed25519FromSeed(PETER_SEED);
    expect(signNote(PETER_TEXT, [ed25519NoteSigner('PeterNeumann', key)])).toBe(PETER_NOTE);
    expect(formatVerifierKey('PeterNeumann', key)).toBe(PETER_VKEY);
    const pub = ed25519PublicKeyBytes(key);
    expect(keyIdOf('PeterNeumann', SIG_TYPE_ED25519, pub)).toBe(0xc74f20a3);
    expect(Buffer.from(keyHash('PeterNeumann', SIG_TYPE_ED25519, pub).subarray(0, 4)).toString('hex')).toBe('c74f20a3');
    expect(keyHash('PeterNeumann', SIG_TYPE_ED25519, pub)).toHaveLength(32);
  });

  it('ignores unknown keys, refuses a note when a known key fails, and when none is known', () => {
    const log = newKey('log.example.com');
    const other = newKey('witness.example.net');
    const note = signNote('hello\n', [log.signer, other.signer]);
    expect(openNote(note, [log.verifier]).verified).toHaveLength(1);
    expect(openNote(note, [log.verifier, other.verifier]).verified).toHaveLength(2);
    expect(codeOf(() => openNote(note, [newKey('nobody.example').verifier]))).toBe('NOTE_UNVERIFIED');
    // Same name, other key: unknown (key id differs), so ignored; nothing else verifies.
    expect(codeOf(() => openNote(note, [newKey('log.example.com').verifier]))).toBe('NOTE_UNVERIFIED');
    // A known key whose signature is wrong spoils the whole note, even beside a good one.
    const forged = note.replace(/(— witness\.example\.net )(\S{10})/, (_, head: string, sig: string) => head + sig.slice(0, 9) + (sig[9] === 'A' ? 'B' : 'A'));
    expect(forged).not.toBe(note);
    expect(codeOf(() => openNote(forged, [log.verifier, other.verifier]))).toBe('NOTE_SIGNATURE_INVALID');
    // Text changed after signing.
    expect(codeOf(() => openNote(note.replace('hello', 'hellO'), [log.verifier]))).toBe('NOTE_SIGNATURE_INVALID');
    // A verifier that throws counts as a failed signature, not a crash.
    const throwing: NoteVerifier = { name: log.verifier.name, keyId: log.verifier.keyId, verify: () => { throw new Error('boom'); } };
    expect(codeOf(() => openNote(note, [throwing]))).toBe('NOTE_SIGNATURE_INVALID');
    expect(codeOf(() => openNote(note, [log.verifier, log.verifier]))).toBe('KEY_INVALID');
  });

  it('refuses a signature whose name and key id are the known key\'s but whose key is another (a key id collision), even beside the genuine one', () => {
    const log = newKey('log.example.com');
    const impostor = newKey('log.example.com');
    // A signer claiming the log's key id: what a 32-bit key id collision (or a relay) would write.
    const colliding = { name: 'log.example.com', keyId: log.signer.keyId, sign: impostor.signer.sign };
    expect(codeOf(() => openNote(signNote('hello\n', [colliding]), [log.verifier]))).toBe('NOTE_SIGNATURE_INVALID');
    const both = signNote('hello\n', [log.signer]).replace(/\n$/, '') + '\n' + signNote('hello\n', [colliding]).slice('hello\n\n'.length);
    expect(codeOf(() => openNote(both, [log.verifier]))).toBe('NOTE_SIGNATURE_INVALID');
    // Only an unknown key signed: nothing verifies.
    expect(codeOf(() => openNote(signNote('hello\n', [impostor.signer]), [log.verifier]))).toBe('NOTE_UNVERIFIED');
  });

  it('separates text from signatures at the last blank line, so text may hold blank lines', () => {
    const log = newKey('log.example.com');
    const text = 'a\n\nb\n\n';
    const opened = openNote(signNote(text, [log.signer]), [log.verifier]);
    expect(opened.text).toBe(text);
  });

  it('refuses malformed notes with NOTE_MALFORMED', () => {
    const log = newKey('log.example.com');
    const good = signNote('hello\n', [log.signer]);
    const sigLine = good.slice('hello\n\n'.length);
    const cases: Record<string, string | Uint8Array> = {
      'no blank line': 'hello\n' + sigLine,
      'no signatures': 'hello\n\n',
      'signature line without newline': good.slice(0, -1),
      'trailing blank line': good + '\n',
      'text after signatures': good + 'more\n',
      'hyphen instead of em dash': good.replace('—', '-'),
      'en dash': good.replace('—', '\u2013'),
      'two spaces': good.replace('— ', '—  '),
      'no signature': 'hello\n\n— log.example.com\n',
      'space in signature': good.replace(/(\S+)\n$/, (m) => m.slice(0, 8) + ' ' + m.slice(8)),
      'plus in name': good.replace('log.example.com', 'log+example.com'),
      'non-canonical base64': good.replace(/=\n$/, '\n'),
      'short signature': 'hello\n\n— log.example.com AAAAAA==\n',
      'carriage return': good.replace('hello', 'hel\rlo'),
      'tab': good.replace('hello', 'hel\tlo'),
      'NUL': good.replace('hello', 'hel\u0000lo'),
      'lone surrogate': good.replace('hello', 'hel\ud800lo'),
      'invalid UTF-8': Uint8Array.of(...Buffer.from('hel'), 0xff, ...Buffer.from(good.slice(3))),
      'too large': 'a'.repeat(MAX_NOTE_BYTES) + '\n\n' + sigLine,
      'too many signatures': 'hello\n\n' + sigLine.repeat(33),
      'CRLF line endings': good.replaceAll('\n', '\r\n'),
    };
    for (const [what, note] of Object.entries(cases)) {
      expect(codeOf(() => parseNote(note)), what).toBe('NOTE_MALFORMED');
      expect(codeOf(() => openNote(note, [log.verifier])), what).toBe('NOTE_MALFORMED');
    }
    expect(parseNote(Buffer.from(good)).signatures).toHaveLength(1);
    expect(parseNote('hello\n\n' + sigLine.repeat(32)).signatures).toHaveLength(32);
  });

  it('refuses bad key names, vkeys and texts when signing', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    for (const name of ['', 'a b', 'a+b', 'a\u00a0b', 'a\u3000b', 'a\nb', 'x'.repeat(257)]) {
      expect(codeOf(() => ed25519NoteSigner(name, privateKey)), JSON.stringify(name)).toBe('KEY_INVALID');
    }
    const signer = ed25519NoteSigner('log.example.com', privateKey);
    expect(codeOf(() => signNote('no newline', [signer]))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => signNote('bell\u0007\n', [signer]))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => signNote('x\n', []))).toBe('NOTE_MALFORMED');
    expect(codeOf(() => signNote('x\n', [signer, signer]))).toBe('KEY_INVALID');
    for (const vkey of [
      'example.com/foo+530d903a',
      'example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      'example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      'example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      'example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      'example.com/foo+530d903a+BOkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2kAA==',
    ]) {
      expect(codeOf(() => parseVerifierKey(vkey)), vkey).toBe('KEY_INVALID');
    }
    const { publicKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(() => ed25519NoteVerifier('x', ecKey))).toBe('KEY_INVALID');
    expect(codeOf(() => ed25519NoteVerifier('x', new Uint8Array(31)))).toBe('KEY_INVALID');
  });
});

describe('when writing and reading checkpoints (C2SP tlog-checkpoint)', () => {
  const root = hashLeaf(Buffer.from('root'));

  it('round-trips a signed checkpoint, extension lines included', () => {
    const log = newKey('log.example.com');
    const cp = { origin: 'log.example.com', size: 20852163, root, extensions: ['ext one'] };
    const envelope = signCheckpoint(cp, log.signer);
    expect(envelope.startsWith(`log.example.com\n20852163\n${Buffer.from(root).toString('base64')}\next one\n\n— log.example.com `)).toBe(true);
    const opened = openCheckpoint(envelope, log.verifier);
    expect(opened.checkpoint).toEqual({ ...cp, root: Buffer.from(root) });
    expect(opened.envelope).toBe(envelope);
    expect(opened.cosignatures).toEqual([]);
  });

  it('returns other known signatures as cosignatures, and requires the log signature itself', () => {
    const log = newKey('log.example.com');
    const witness = newKey('witness.example.net');
    const text = formatCheckpoint({ origin: 'log.example.com', size: 1, root, extensions: [] });
    const both = signNote(text, [log.signer, witness.signer]);
    const opened = openCheckpoint(both, log.verifier, { cosigners: [witness.verifier] });
    expect(opened.cosignatures.map((s) => s.name)).toEqual(['witness.example.net']);
    const witnessOnly = signNote(text, [witness.signer]);
    expect(codeOf(() => openCheckpoint(witnessOnly, log.verifier, { cosigners: [witness.verifier] }))).toBe('NOTE_UNVERIFIED');
  });

  it('refuses a checkpoint for another origin', () => {
    const log = newKey('log.example.com');
    const envelope = signCheckpoint({ origin: 'log.example.com', size: 1, root, extensions: [] }, log.signer);
    expect(codeOf(() => openCheckpoint(envelope, log.verifier, { origin: 'other.example.com' }))).toBe('CHECKPOINT_ORIGIN_MISMATCH');
    const other = signNote(formatCheckpoint({ origin: 'elsewhere.example', size: 1, root, extensions: [] }), [log.signer]);
    expect(codeOf(() => openCheckpoint(other, log.verifier))).toBe('CHECKPOINT_ORIGIN_MISMATCH');
  });

  it('parses the spec example body and refuses malformed bodies with CHECKPOINT_MALFORMED', () => {
    const example = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    expect(parseCheckpoint(example).size).toBe(20852163);
    const b64 = Buffer.from(root).toString('base64');
    for (const text of [
      'o\n1\n',
      `o\n1\n${b64}`,
      `o\n01\n${b64}\n`,
      `o\n-1\n${b64}\n`,
      `o\n1.0\n${b64}\n`,
      `o\n+1\n${b64}\n`,
      `o\n9007199254740992\n${b64}\n`,
      `o\n${'9'.repeat(40)}\n${b64}\n`,
      `o\n1\n${b64.slice(0, -1)}\n`,
      `o\n1\n${Buffer.alloc(31).toString('base64')}\n`,
      `o\n1\n${b64}\n\n`,
      `o\n1\n${b64}\n\next\n`,
      `\n1\n${b64}\n`,
      `o\n1\n${b64}\n${'e\n'.repeat(17)}`,
      // The empty tree has one root, SHA-256 of nothing (RFC 6962 MTH({})).
      `o\n0\n${b64}\n`,
    ]) {
      expect(codeOf(() => parseCheckpoint(text)), JSON.stringify(text)).toBe('CHECKPOINT_MALFORMED');
    }
    expect(parseCheckpoint(`o\n0\n${Buffer.from(EMPTY_ROOT).toString('base64')}\n`).size).toBe(0);
    expect(parseCheckpoint(`o\n9007199254740991\n${b64}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses to format a checkpoint it could not read back', () => {
    for (const cp of [
      { origin: 'has space', size: 1, root, extensions: [] },
      { origin: 'a+b', size: 1, root, extensions: [] },
      { origin: 'o', size: -1, root, extensions: [] },
      { origin: 'o', size: 0, root, extensions: [] },
      { origin: 'o', size: 1.5, root, extensions: [] },
      { origin: 'o', size: 1, root: root.subarray(1), extensions: [] },
      { origin: 'o', size: 1, root, extensions: [''] },
      { origin: 'o', size: 1, root, extensions: ['a\nb'] },
    ]) {
      expect(codeOf(() => formatCheckpoint(cp)), JSON.stringify(cp.origin)).toBe('CHECKPOINT_MALFORMED');
    }
  });
});
