/**
 * stream-source: sends a deterministic pseudo-random stream over TCP.
 * Usage: stream-source.ts <host> <port> <bytes>. Writes with back-pressure,
 * half-closes, and prints `<bytes> <sha256>` of what it sent once the peer
 * has closed too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const [host, portText, bytesText] = process.argv.slice(2);
const total = Number(bytesText);
const BLOCK = 1024 * 1024;
const base = randomBytes(BLOCK);
const hash = createHash('sha256');

const socket = connect({ host: host!, port: Number(portText), allowHalfOpen: true });
let sent = 0;
let block = 0;

function pump(): void {
  while (sent < total) {
    const size = Math.min(BLOCK, total - sent);
    const chunk = Buffer.allocUnsafe(size);
    base.copy(chunk, 0, 0, size);
    // Every block differs, so a dropped or repeated block changes the hash.
    chunk.writeUInt32BE(block++ >>> 0, 0);
    hash.update(chunk);
    sent += size;
    if (!socket.write(chunk)) return void socket.once('drain', pump);
  }
  socket.end();
}

socket.on('connect', pump);
socket.on('error', (err) => {
  process.stderr.write(`stream-source: ${err.message}\n`);
  process.exit(1);
});
socket.resume();
socket.on('close', () => process.stdout.write(`${sent} ${hash.digest('hex')}\n`));
