import type { Readable } from 'node:stream';

/** Where a line splitter's chunks come from: `push` each chunk as it arrives, `end` when the stream ends. */
export interface LineSplitter {
  push(chunk: Buffer): void;
  /** The stream ended: with `tail`, what follows the last newline is handed over as a last line. */
  end(): void;
}

/**
 * MCP stdio framing: splits a byte stream into newline-delimited messages, handing each line over
 * as bytes (decoding is the parser's job, so invalid UTF-8 is refused rather than replaced). A line
 * longer than `maxBytes` is never buffered whole: its bytes are discarded up to the next newline
 * and `onOversize` is called once for it. With `tail`, what follows the last newline when the
 * stream ends (or is destroyed) is handed over as a last line: for a log, whose last words (a
 * crash message) often lack the newline, never for messages, where it is a truncated one.
 * A line is handed over synchronously and may be a view of the chunk (whose memory the source may
 * reuse once `push` returns, as fd-io.ts's reader does): `onLine` must not keep it.
 */
export function lineSplitter(maxBytes: number, onLine: (line: Buffer) => void, onOversize: () => void, tail = false): LineSplitter {
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = false;
  const emit = (line: Buffer): void => {
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    // Blank lines (spaces and tabs only) are skipped; the first other byte ends the scan.
    for (let i = 0; i < end; i++) {
      if (line[i] !== 0x20 && line[i] !== 0x09) return onLine(end === line.length ? line : line.subarray(0, end));
    }
  };
  return {
    push(chunk) {
      let start = 0;
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, i);
        start = i + 1;
        if (oversize || size + piece.length > maxBytes) {
          if (!oversize) onOversize();
          parts = [];
          size = 0;
          oversize = false;
          continue;
        }
        emit(parts.length === 0 ? piece : Buffer.concat([...parts, piece]));
        parts = [];
        size = 0;
      }
      if (oversize || start === chunk.length) return;
      const rest = chunk.subarray(start);
      if (size + rest.length > maxBytes) {
        parts = [];
        size = 0;
        oversize = true;
        onOversize();
        return;
      }
      // Copy: the source may reuse the chunk's memory.
      parts.push(Buffer.from(rest));
      size += rest.length;
    },
    end() {
      if (!tail || parts.length === 0) return;
      const line = Buffer.concat(parts);
      parts = [];
      size = 0;
      emit(line);
    },
  };
}

/** {@link lineSplitter} over a readable stream's 'data' events. */
export function onLines(stream: Readable, maxBytes: number, onLine: (line: Buffer) => void, onOversize: () => void, tail = false): void {
  const lines = lineSplitter(maxBytes, onLine, onOversize, tail);
  stream.on('data', (chunk: Buffer) => lines.push(chunk));
  if (!tail) return;
  stream.on('end', () => lines.end());
  stream.on('close', () => lines.end());
}
