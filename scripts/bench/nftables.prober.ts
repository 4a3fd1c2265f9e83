/**
 * The nftables benchmark's traffic client: runs in the lab's external
 * namespace and, while asked to, opens a fresh TCP connection to a service
 * every `everyMs` milliseconds (at most MAX_IN_FLIGHT open) and asks agnhost
 * which pod answers. A fresh connection is DNATed by its SYN, so the start of
 * the first connection the new pod answers is when the new rules were in
 * place (to within everyMs). One JSON command per stdin line:
 *
 *   {"op":"start","host":"172.30.0.10","port":80,"want":"pod-1","everyMs":1} → {"ok":true}   (polling has begun)
 *   {"op":"result","timeoutMs":10000}
 *       → {"ok":true,"firstAt":"<ns>","attempts":n,"failures":n,"slow":n}   (or ok:false after timeoutMs)
 *
 * Times are process.hrtime (CLOCK_MONOTONIC), the same clock in every process
 * on the machine, so the orchestrator compares them with its API write times.
 * Traffic is bounded: at most 1000 connections a second and MAX_IN_FLIGHT open,
 * only between `start` and the first answer of the wanted pod (or the timeout).
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const MAX_IN_FLIGHT = 32;
const ATTEMPT_TIMEOUT_MS = 1000;
// A handshake slower than this had its SYN retransmitted: its start says nothing about when the rules changed.
const SLOW_HANDSHAKE_MS = 200;

interface Poll {
  want: string;
  firstAt: bigint | undefined;
  attempts: number;
  failures: number;
  slow: number;
  timer: NodeJS.Timeout;
  inFlight: number;
  /** found resolves at the wanted pod's first answer. */
  found: Promise<void>;
  markFound: () => void;
}

let poll: Poll | undefined;

/** attempt opens one connection, sends GET /hostname and records who answered. */
function attempt(p: Poll, host: string, port: number): void {
  p.inFlight++;
  p.attempts++;
  const started = process.hrtime.bigint();
  let connectedAt = 0n;
  let body = '';
  const socket = connect({ host, port, noDelay: true });
  socket.setTimeout(ATTEMPT_TIMEOUT_MS, () => socket.destroy());
  socket.once('connect', () => {
    connectedAt = process.hrtime.bigint();
    socket.end(`GET /hostname HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
  socket.on('data', (b: Buffer) => (body += b.toString()));
  socket.on('error', () => {});
  socket.once('close', () => {
    p.inFlight--;
    const answeredBy = body.split('\r\n\r\n')[1]?.trim();
    if (answeredBy === undefined) p.failures++;
    else if (answeredBy === p.want) {
      if (connectedAt - started > BigInt(SLOW_HANDSHAKE_MS * 1e6)) p.slow++;
      else if (p.firstAt === undefined || started < p.firstAt) p.firstAt = started;
      p.markFound();
    }
  });
}

function start(cmd: { host: string; port: number; want: string; everyMs: number }): object {
  stop();
  let markFound: () => void = () => {};
  const found = new Promise<void>((r) => (markFound = r));
  const timer = setInterval(() => {
    if (p.inFlight < MAX_IN_FLIGHT) attempt(p, cmd.host, cmd.port);
  }, cmd.everyMs);
  const p: Poll = { want: cmd.want, firstAt: undefined, attempts: 0, failures: 0, slow: 0, inFlight: 0, found, markFound, timer };
  poll = p;
  return { ok: true };
}

function stop(): void {
  if (poll) clearInterval(poll.timer);
}

/** result waits for the wanted pod's first answer, then for the attempts already open (one started earlier may be answered by it too). */
async function result(cmd: { timeoutMs: number }): Promise<object> {
  const p = poll;
  if (!p) return { ok: false, error: 'not polling' };
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.found, new Promise((r) => (timer = setTimeout(r, cmd.timeoutMs)))]);
  clearTimeout(timer);
  stop();
  const drainBy = Date.now() + ATTEMPT_TIMEOUT_MS + 100;
  while (p.inFlight > 0 && Date.now() < drainBy) await new Promise((r) => setTimeout(r, 5));
  poll = undefined;
  const counts = { attempts: p.attempts, failures: p.failures, slow: p.slow };
  return p.firstAt === undefined ? { ok: false, error: `${p.want} did not answer within ${cmd.timeoutMs} ms`, ...counts } : { ok: true, firstAt: String(p.firstAt), ...counts };
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { op: 'start'; host: string; port: number; want: string; everyMs: number } | { op: 'result'; timeoutMs: number };
  const answer = cmd.op === 'start' ? start(cmd) : await result(cmd);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
stop();
