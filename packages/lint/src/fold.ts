import { remove } from 'confusables';
import { isHidden } from './finding.js';

/**
 * Text as the keyword rules see it: NFKC (fullwidth and compatibility forms to plain), confusable
 * characters to their Latin look-alikes (Cyrillic "і", Greek "Ι"…), lowercase, and the ASCII
 * look-alikes folded together (l, 1, | and i; 0 and o), so a disguised keyword matches as plainly
 * as the real one. Hidden characters are dropped here: they are errors of their own.
 */
export function fold(text: string): string {
  const plain = [...text.normalize('NFKC')].filter((c) => !isHidden(c.codePointAt(0)!)).join('');
  return foldAscii(remove(plain).toLowerCase());
}

/** The ASCII part of the fold: l, 1 and | read as i; 0 reads as o. */
export function foldAscii(text: string): string {
  return text.replace(/[l1|]/g, 'i').replace(/0/g, 'o');
}

/** Builds a rule pattern in the folded alphabet (write it in plain lowercase English). */
export function folded(source: string, flags = 'g'): RegExp {
  return new RegExp(source.replace(/l/g, 'i'), flags);
}
