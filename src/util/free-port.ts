/**
 * freePort picks a loopback port that is free for both TCP and UDP, for
 * servers that are started by another process after this one releases it.
 *
 * The port is taken below the kernel's ephemeral range: a port the kernel
 * handed out with bind(0) goes back into that range on release, where any
 * outgoing connection on the machine can take it as its source port before
 * the server binds it (EADDRINUSE in a busy test run).
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const SPAN = 10_000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 + 1000 ? low : 32768;
  } catch {
    return 32768;
  }
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(1025, high - SPAN);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
  }
  throw new Error(`no free loopback port in ${low}-${high - 1} after 200 tries`);
}
