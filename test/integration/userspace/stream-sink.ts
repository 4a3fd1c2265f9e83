/**
 * stream-sink: a deliberately slow TCP reader for the back-pressure test.
 * Usage: stream-sink.ts <port> <bytesPerSecond>. Accepts one connection,
 * reads at most bytesPerSecond (pausing the socket when ahead of the budget),
 * hashes what it got and prints `<bytes> <sha256>` when the sender is done.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const rate = Number(process.argv[3]);

const server = createServer((socket) => {
  const hash = createHash('sha256');
  const started = Date.now();
  let bytes = 0;
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
    process.stdout.write(`${bytes} ${hash.digest('hex')}\n`);
    socket.end();
    server.close();
  });
});
server.listen(port, () => process.stdout.write('listening\n'));
