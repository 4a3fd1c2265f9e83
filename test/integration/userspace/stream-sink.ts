/**
 * stream-sink: a deliberately slow TCP reader for the back-pressure test.
 * Usage: stream-sink.ts <port> <bytesPerSecond>. Reads each connection at
 * most bytesPerSecond (pausing the socket when ahead of the budget), hashes
 * what it got and prints `receiving` at the first bytes and `<bytes> <sha256>`
 * when the sender is done.
 * Connections that carry nothing print nothing: a proxy's dial that timed out
 * under load may still have reached us before it was abandoned.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const rate = Number(process.argv[3]);

const server = createServer((socket) => {
  const hash = createHash('sha256');
  const started = Date.now();
  let bytes = 0;
  socket.once('data', () => process.stdout.write('receiving\n'));
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    const aheadMs = (bytes / rate) * 1000 - (Date.now() - started);
    if (aheadMs > 5) {
      socket.pause();
      setTimeout(() => socket.resume(), aheadMs);
    }
  });
  socket.on('end', () => {
    if (bytes > 0) process.stdout.write(`${bytes} ${hash.digest('hex')}\n`);
    socket.end();
  });
  socket.on('error', () => socket.destroy());
});
server.listen(port, () => process.stdout.write('listening\n'));
