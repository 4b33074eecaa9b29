import type { Readable } from 'node:stream';

/**
 * Splits a byte stream into newline-delimited messages (the MCP stdio framing), refusing any
 * line longer than `maxBytes` instead of buffering it without bound.
 */
export function onLines(stream: Readable, maxBytes: number, onLine: (line: string) => void, onOversize: () => void): void {
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = false;
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, i);
      start = i + 1;
      if (oversize || size + piece.length > maxBytes) {
        parts = [];
        size = 0;
        if (!oversize) onOversize();
        oversize = false;
        continue;
      }
      parts.push(piece);
      const line = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
      parts = [];
      size = 0;
      if (line.trim() !== '') onLine(line);
    }
    const rest = chunk.subarray(start);
    if (oversize) return;
    if (size + rest.length > maxBytes) {
      parts = [];
      size = 0;
      oversize = true;
      onOversize();
      return;
    }
    if (rest.length) {
      parts.push(rest);
      size += rest.length;
    }
  });
}
