/**
 * The data-path benchmark's client half: runs in the lab's external client
 * namespace and opens fresh TCP connections to one ClusterIP, one after the
 * other. For each it times the handshake (the SYN is the packet that walks
 * the NAT rules; later packets follow conntrack) and the first byte of an
 * HTTP answer from agnhost. One JSON command per stdin line:
 *
 *   {"host":"10.96.4.231","port":80,"count":200,"warmup":20}
 *       → {"connectMs":[...],"responseMs":[...],"failures":0}
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

interface Command {
  host: string;
  port: number;
  count: number;
  warmup: number;
}

const TIMEOUT_MS = 3000;

/** once opens one connection; resolves to its handshake and first-byte times, or undefined on failure. */
function once(host: string, port: number): Promise<{ connectMs: number; responseMs: number } | undefined> {
  return new Promise((resolve) => {
    const started = performance.now();
    let connectMs = 0;
    const socket = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => finish(undefined), TIMEOUT_MS);
    function finish(result: { connectMs: number; responseMs: number } | undefined): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
    socket.once('connect', () => {
      connectMs = performance.now() - started;
      socket.write(`GET /hostname HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('data', () => finish({ connectMs, responseMs: performance.now() - started }));
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(undefined));
  });
}

async function measure(cmd: Command): Promise<Record<string, unknown>> {
  const connectMs: number[] = [];
  const responseMs: number[] = [];
  let failures = 0;
  for (let i = 0; i < cmd.warmup + cmd.count; i++) {
    const r = await once(cmd.host, cmd.port);
    if (i < cmd.warmup) continue;
    if (!r) failures++;
    else {
      connectMs.push(r.connectMs);
      responseMs.push(r.responseMs);
    }
  }
  return { connectMs, responseMs, failures };
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(await measure(JSON.parse(line) as Command))}\n`);
}
