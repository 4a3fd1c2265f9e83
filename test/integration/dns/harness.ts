/**
 * End-to-end harness for `ferry dns`: the project's apiserver in this
 * process (memory storage, 127.0.0.1:0), `ferry dns` as a child process on
 * 127.0.0.1 with ports picked by the kernel, `dig -p` against it, and
 * helpers that create Services, EndpointSlices and Pods through the API.
 * Everything is closed in t.teardown, also when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import type { EndpointSlice, Endpoint } from 'kubernetes-types/discovery/v1.d.ts';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
export { freePort } from '../../../src/util/free-port.ts';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';

const run = promisify(execFile);
const FERRY = resolve(import.meta.dirname, '../../../bin/ferry');

/** Teardown is where cleanups go: ava's `t.teardown` in a test, a `Cleanup` list in hooks. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Cleanup collects cleanups for before/after hooks (ava forbids t.teardown there); run() runs them in reverse. */
export class Cleanup implements Teardown {
  readonly #fns: Array<() => unknown> = [];
  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.#fns.reverse()) await fn();
  }
}

export interface Cluster {
  url: string;
  client: ApiClient;
}

/** startCluster starts an apiserver with memory storage on 127.0.0.1:0. */
export async function startCluster(t: Teardown): Promise<Cluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-dns-test-'));
  const server = new ApiServer({ backend: createBackend('memory', { dataDir }), disableAdmissionPlugins: ['ServiceAccount'] });
  await server.start();
  const addr = await server.listen('127.0.0.1', 0);
  const url = `http://127.0.0.1:${addr.port}`;
  const client = new ApiClient({ server: url });
  t.teardown(async () => {
    await client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { url, client };
}

export interface FerryDns {
  port: number;
  ready: string;
  metrics: string;
  proc: ChildProcess;
  stderr: () => string;
  /** alive reports whether the process is still running. */
  alive: () => boolean;
}

/** Serving is a `ferry dns` process that printed its first "Serving DNS" line. */
interface Serving {
  readonly proc: ChildProcess;
  readonly line: string;
  readonly log: () => string;
  readonly exited: () => boolean;
}

/** spawnUntilServing runs `ferry ARGS` (stopped at teardown) until it logs "Serving DNS", failing if it exits or takes 20 s. */
async function spawnUntilServing(t: Teardown, args: string[], env?: NodeJS.ProcessEnv): Promise<Serving> {
  const proc = spawn(FERRY, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let log = '';
  let exited = false;
  proc.on('exit', () => (exited = true));
  t.teardown(() => {
    if (!exited) proc.kill('SIGKILL');
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`ferry dns did not start:\n${log}`)), 20_000);
    proc.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Serving DNS .*/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolveLine(m[0]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`ferry dns exited ${code}:\n${log}`)));
  });
  return { proc, line, log: () => log, exited: () => exited };
}

const waitReady = (address: string) => waitFor(async () => (await fetch(`http://${address}/ready`)).status === 200, 20_000, 'ready');

/** startFerryDns runs `ferry dns` against `url` and waits until it serves and (unless told) /ready answers 200. */
export async function startFerryDns(t: Teardown, url: string, extra: string[] = [], o: { waitReady?: boolean } = {}): Promise<FerryDns> {
  const args = ['dns', '--server', url, '--listen', '127.0.0.1:0', '--health-bind-address', '127.0.0.1:0', '--ready-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', ...extra];
  if (!extra.some((a) => a.startsWith('--upstream'))) args.push('--upstream', '127.0.0.1:9');
  const s = await spawnUntilServing(t, args);
  const field = (name: string) => new RegExp(`${name}=(\\S+)`).exec(s.line)?.[1] ?? '';
  const dns: FerryDns = { port: Number(field('listen').split(':').pop()), ready: field('ready'), metrics: field('metrics'), proc: s.proc, stderr: s.log, alive: () => !s.exited() };
  if (o.waitReady !== false) await waitReady(dns.ready);
  return dns;
}

/** writeCorefile writes a Corefile (its text, or made from the temporary directory it is written to) and gives its path. */
export function writeCorefile(t: Teardown, corefile: string | ((dir: string) => string)): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-corefile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'Corefile');
  writeFileSync(file, typeof corefile === 'string' ? corefile : corefile(dir));
  return file;
}

export interface FerryDnsConf {
  /** The first server block's DNS port. */
  readonly port: number;
  readonly proc: ChildProcess;
  readonly log: () => string;
  readonly exited: () => boolean;
}

/**
 * startFerryDnsConf runs `ferry dns -conf FILE` (with `--server url` when
 * given; else the Corefile says how to reach the API, and $KUBECONFIG is
 * cleared) and waits until its first block serves and, unless told not to,
 * until the block with `ready` answers 200 (it may log after the first).
 */
export async function startFerryDnsConf(t: Teardown, file: string, o: { url?: string; waitReady?: boolean } = {}): Promise<FerryDnsConf> {
  const s = await spawnUntilServing(t, ['dns', '-conf', file, ...(o.url ? ['--server', o.url] : [])], { ...process.env, KUBECONFIG: '' });
  const port = Number(/listen=\S+:(\d+)/.exec(s.line)![1]);
  const readyIn = (text: string) => /Serving DNS .*ready=(\S+)/.exec(text)?.[1];
  if (o.waitReady !== false) {
    const ready = readyIn(s.line) ?? (await new Promise((r) => setTimeout(r, 500)), readyIn(s.log()));
    if (ready) await waitReady(ready);
  }
  return { port, proc: s.proc, log: s.log, exited: s.exited };
}

/** waitFor polls `check` every 20 ms until it is true, failing after `ms`. */
export async function waitFor(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      if (await check()) return Date.now() - start;
    } catch {
      // not yet
    }
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
}

/**
 * dig runs `dig -p port @127.0.0.1` and parses its sections. Records are
 * whitespace-normalised to `name ttl IN TYPE rdata`; an SOA's serial is
 * replaced by `S` (it is the time of the last change).
 */
export async function dig(port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', ['-p', String(port), '@127.0.0.1', '+tries=1', '+time=3', '+nocookie', '+noall', '+comments', '+answer', '+authority', '+additional', ...args]);
  return parseDig(stdout);
}

export function parseDig(out: string): DigResult {
  const result: DigResult = { status: '', flags: [], answer: [], authority: [], additional: [] };
  let section: keyof DigResult | undefined;
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    const header = /status: (\w+)/.exec(line);
    if (header) result.status = header[1]!;
    const flags = /^;; flags: ([^;]*);/.exec(line);
    if (flags) result.flags = flags[1]!.trim().split(/\s+/);
    if (line.startsWith(';; ANSWER SECTION')) section = 'answer';
    else if (line.startsWith(';; AUTHORITY SECTION')) section = 'authority';
    else if (line.startsWith(';; ADDITIONAL SECTION')) section = 'additional';
    else if (line === '' || line.startsWith(';')) {
      if (line === '') section = undefined;
    } else if (section) {
      const fields = line.split(/\s+/);
      if (fields[3] === 'SOA') fields[6] = 'S';
      (result[section] as string[]).push(fields.join(' '));
    }
  }
  return result;
}

export function clusterIPService(ns: string, name: string, ports: Array<{ name?: string; port: number; protocol?: string }>, extra: Partial<Service['spec']> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { ports: ports.map((p) => ({ protocol: 'TCP', ...p })), ...extra } };
}

export function slice(ns: string, service: string, name: string, endpoints: Endpoint[], ports: Array<{ name?: string; port: number; protocol?: string }>): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
    addressType: endpoints[0]?.addresses[0]?.includes(':') ? 'IPv6' : 'IPv4',
    endpoints,
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
  };
}

export async function createService(c: Cluster, svc: Service): Promise<Service> {
  return c.client.create(resources.services, svc, { namespace: svc.metadata!.namespace! });
}

export async function createSlice(c: Cluster, s: EndpointSlice): Promise<EndpointSlice> {
  return c.client.create(resources.endpointslices, s, { namespace: s.metadata!.namespace! });
}

export async function createNamespace(c: Cluster, name: string): Promise<void> {
  await c.client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/**
 * populateWebAndHeadless creates namespace testns with ClusterIP Service web
 * (10.96.100.1, port http 80) and headless Service hdls with two ready
 * endpoints (172.16.0.10 named db-0, 172.16.0.11; port http 8080).
 */
export async function populateWebAndHeadless(c: Cluster): Promise<void> {
  await createNamespace(c, 'testns');
  await createService(c, clusterIPService('testns', 'web', [{ name: 'http', port: 80 }], { clusterIP: '10.96.100.1' }));
  await createService(c, clusterIPService('testns', 'hdls', [{ name: 'http', port: 80 }], { clusterIP: 'None' }));
  await createSlice(c, slice('testns', 'hdls', 'hdls-1', [
    { addresses: ['172.16.0.10'], hostname: 'db-0', conditions: { ready: true } },
    { addresses: ['172.16.0.11'], conditions: { ready: true } },
  ], [{ name: 'http', port: 8080 }]));
}

/** createPod creates a pod and sets its status (phase Running, podIP). */
export async function createPod(c: Cluster, ns: string, name: string, ip: string, spec: Partial<Pod['spec']> = {}): Promise<Pod> {
  const pod = await c.client.create<Pod>(resources.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name }, spec: { containers: [{ name: 'c', image: 'none' }], ...spec } }, { namespace: ns });
  return c.client.updateStatus<Pod>(resources.pods, { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
}

/** udpQuery sends one query packet over UDP and resolves to the response (or undefined after `ms`). */
export async function udpQuery(port: number, packet: Buffer, ms = 2000): Promise<Buffer | undefined> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  return new Promise((resolveAnswer) => {
    const timer = setTimeout(() => {
      s.close();
      resolveAnswer(undefined);
    }, ms);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolveAnswer(msg);
    });
    s.send(packet, port, '127.0.0.1');
  });
}
