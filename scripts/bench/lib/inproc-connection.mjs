// An HTTP connection over an in-memory duplex, shared by the in-process read benches
// (reads-inproc.mjs, reads-callgrind.mjs, lists-inproc.mjs): node:http parses and writes as on a socket, with no
// kernel in between.
import { createServer } from 'node:http';
import { Duplex } from 'node:stream';

/** Connects `listener` to an in-memory duplex: the result writes raw request bytes; `onData` sees every chunk the server writes. */
export function connect(listener, onData) {
  // Strings written are encoded to bytes, as a socket does (in C++ there, here by Writable).
  const socket = new Duplex({
    decodeStrings: true,
    read() {},
    write(chunk, _encoding, done) {
      onData(chunk);
      done();
    },
    writev(chunks, done) {
      for (const c of chunks) onData(c.chunk);
      done();
    },
  });
  Object.assign(socket, { remoteAddress: '127.0.0.1', setTimeout: () => socket, setNoDelay: () => socket, setKeepAlive: () => socket });
  createServer(listener).emit('connection', socket);
  return (bytes) => socket.push(bytes);
}

/**
 * `run(n)`: `n` requests of the raw bytes `request`, sent 16 at a time (pipelined) over one
 * in-memory connection to `listener`, each batch after the last one's 16 answers; every answer
 * must be a 200 (`label` names the request when one is not).
 */
export function pipelined(listener, request, label) {
  let pending = 0;
  let batchDone;
  const send = connect(listener, (chunk) => {
    for (let i = chunk.indexOf('HTTP/1.1 '); i >= 0; i = chunk.indexOf('HTTP/1.1 ', i + 1)) {
      if (chunk.indexOf('HTTP/1.1 200', i) !== i) throw new Error(`${label}: ${String(chunk).slice(i, i + 120)}`);
      if (--pending === 0) batchDone();
    }
  });
  const batch = Buffer.concat(Array.from({ length: 16 }, () => request));
  return async (n) => {
    for (let k = 0; k < n / 16; k++) {
      pending = 16;
      const done = new Promise((r) => (batchDone = r));
      send(batch);
      await done;
    }
  };
}

/**
 * CPU µs per request of this process answering `count` requests made by `request(path)` (raw
 * bytes), 16 in flight over one in-memory connection to `listener` ({@link pipelined}), after up
 * to `warmup` of them untimed; every answer must be a 200.
 */
export async function cpuPerRequest(listener, request, path, count, warmup) {
  const run = pipelined(listener, request(path), path);
  await run(Math.min(count, warmup));
  const before = process.cpuUsage();
  await run(count);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}
