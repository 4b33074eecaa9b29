// An HTTP connection over an in-memory duplex, shared by the in-process read benches
// (reads-inproc.mjs, reads-callgrind.mjs): node:http parses and writes as on a socket, with no
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
