import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import type { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { PROXY_LABEL_SELECTOR } from '../../../src/endpoints/proxy-loop.ts';
import type { ProxyState } from '../../../src/endpoints/proxy-state.ts';
import { ProxyStateBuilder } from '../../../src/endpoints/state-builder.ts';

/**
 * TestApiserver runs the project's apiserver in this process on 127.0.0.1:0
 * with the file store in a temporary directory, so it can be restarted with
 * its data (on a new port) and compacted on demand.
 */
export class TestApiserver {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'ferry-watcher-api-'));
  readonly storage: 'file' | 'memory';
  server: ApiServer | undefined;
  port = 0;

  /** storage 'file' (default) keeps the data across restarts; 'memory' is faster. */
  constructor(storage: 'file' | 'memory' = 'file') {
    this.storage = storage;
  }

  async start(): Promise<void> {
    const server = new ApiServer({ backend: createBackend(this.storage, { dataDir: this.dataDir }), bookmarkIntervalMs: 1000 });
    await server.start();
    this.port = (await server.listen('127.0.0.1', 0)).port;
    this.server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }

  /** compact forgets all watch history, so any resume from an older resourceVersion gets 410. */
  async compact(): Promise<void> {
    const backend = this.server!.backend;
    await backend.compact(backend.currentRevision());
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * FaultProxy is a TCP relay between the watcher and the apiserver that can
 * cut every connection, refuse new ones (apiserver unreachable), and follow
 * the apiserver to a new port after a restart.
 */
export class FaultProxy {
  target = 0;
  reachable = true;
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  port = 0;
  /** Request targets (method and path) the watcher sent, in order: tests tell a relist from a resumed watch. */
  readonly requests: string[] = [];

  constructor(target: number) {
    this.target = target;
    this.#server = createServer((client) => {
      if (!this.reachable) return void client.destroy();
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        // A cut is a cut on both sides: closing one end resets the other.
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
        s.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => {
        for (const m of chunk.toString('latin1').matchAll(/^(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP\/1\.1\r$/gm)) this.requests.push(`${m[1]} ${m[2]}`);
      });
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** cutAll resets every relayed connection. */
  cutAll(): void {
    for (const s of this.#sockets) s.destroy();
  }

  /** cutRandom resets each relayed connection with the given probability. */
  cutRandom(probability: number): void {
    for (const s of this.#sockets) if (Math.random() < probability) s.destroy();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((r) => this.#server.close(r));
  }
}

/** truth lists Services and EndpointSlices afresh (kube-proxy's selector) and builds the ProxyState they imply. */
export async function truth(client: ApiClient, nodeName: string): Promise<ProxyState> {
  const builder = new ProxyStateBuilder(nodeName);
  const [services, slices] = await Promise.all([
    client.listAll<Service>(resources.services, { labelSelector: PROXY_LABEL_SELECTOR }),
    client.listAll<EndpointSlice>(resources.endpointslices, { labelSelector: PROXY_LABEL_SELECTOR }),
  ]);
  for (const s of services.items) builder.onServiceChange(undefined, s);
  for (const s of slices.items) builder.onEndpointSliceChange(s, false);
  return builder.build();
}

/** stateDiff describes how two snapshots' services and endpoints differ ('' when equal). */
export function stateDiff(got: ProxyState | undefined, want: ProxyState): string {
  if (!got) return 'no snapshot yet';
  const render = (s: ProxyState) => ({
    services: JSON.stringify([...s.services.entries()].sort()),
    endpoints: new Map([...s.endpoints.entries()].map(([k, v]) => [k, JSON.stringify(v)])),
  });
  const g = render(got);
  const w = render(want);
  if (g.services !== w.services) {
    const differs = [...new Set([...got.services.keys(), ...want.services.keys()])].filter((k) => JSON.stringify(got.services.get(k)) !== JSON.stringify(want.services.get(k)));
    return `services differ (got ${got.services.size}, want ${want.services.size}), e.g. ${differs[0]}: got ${JSON.stringify(got.services.get(differs[0]!))} want ${JSON.stringify(want.services.get(differs[0]!))}`;
  }
  const keys = new Set([...g.endpoints.keys(), ...w.endpoints.keys()]);
  const bad = [...keys].filter((k) => g.endpoints.get(k) !== w.endpoints.get(k));
  return bad.length ? `endpoints differ for ${bad.length} ports, e.g. ${bad[0]}: got ${g.endpoints.get(bad[0]!)} want ${w.endpoints.get(bad[0]!)}` : '';
}

/** duplicates lists endpoint ip:port that appear twice under one service port (must be none). */
export function duplicates(state: ProxyState): string[] {
  const dups: string[] = [];
  for (const [key, eps] of state.endpoints) {
    const seen = new Set<string>();
    for (const ep of eps) {
      const id = `${ep.ip}:${ep.port}`;
      if (seen.has(id)) dups.push(`${key} ${id}`);
      seen.add(id);
    }
  }
  return dups;
}

/** until polls cond until it holds; on timeout it throws with what() evaluated then. Returns the ms waited. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: () => string, since = Date.now()): Promise<number> {
  while (!(await cond())) {
    if (Date.now() - since > ms) throw new Error(`${what()}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - since;
}

/** serviceObject and sliceObject build the API objects the workload tests write. */
export function serviceObject(ns: string, name: string, ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP' }>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { ports: ports.map((p) => ({ ...p, targetPort: 8000 + p.port })) } };
}

export function sliceObject(ns: string, service: string, name: string, ports: Array<{ name: string; port: number; protocol: 'TCP' | 'UDP' }>, eps: Array<{ ip: string; ready: boolean; node: string }>): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString() } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name, port: 8000 + p.port, protocol: p.protocol })),
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready, serving: e.ready, terminating: false }, nodeName: e.node })),
  };
}
