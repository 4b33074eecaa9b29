import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SigningError } from '../errors.js';
import { readBundle } from './bundle.js';

// readBundle takes a well-formed text as it is (no Buffer round trip): it must give exactly what
// reading the text's UTF-8 bytes gives, JSON and digest, and the text with a lone surrogate must
// still go through the bytes.
describe('when a bundle is read from its text', () => {
  const text = JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', note: 'café ✓ 🔐', dsseEnvelope: { payload: 'e30=' } });

  it('gives the JSON and digest its UTF-8 bytes give', () => {
    const bytes = Buffer.from(text, 'utf8');
    expect(readBundle(text)).toEqual(readBundle(bytes));
    expect(readBundle(text).digest).toBe(`sha256:${hash('sha256', bytes, 'hex')}`);
  });

  it('reads a text with a lone surrogate through its bytes, as before', () => {
    const lone = text.replace('café', 'caf\ud800');
    const bytes = Buffer.from(lone, 'utf8');
    expect(readBundle(lone)).toEqual(readBundle(bytes));
    expect((readBundle(lone).json as { note: string }).note).toContain('\ufffd');
  });

  it('refuses a text that is not JSON, or larger than the bound, with BUNDLE_INVALID', () => {
    const code = (input: string) => {
      try {
        readBundle(input);
      } catch (e) {
        return (e as SigningError).code;
      }
      return undefined;
    };
    expect(code(text.slice(0, -1))).toBe('BUNDLE_INVALID');
    // 200,000 characters, 400,000 bytes of UTF-8: the bound is on bytes.
    expect(code(`"${'é'.repeat(200_000)}"`)).toBe('BUNDLE_INVALID');
  });
});
