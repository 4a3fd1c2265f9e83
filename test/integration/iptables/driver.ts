/**
 * driver runs the proxier of the config's mode, built as `ferry proxy`
 * builds it (src/endpoints/backends.ts), inside a lab namespace for packet
 * tests
 * (`ip netns exec <node> node --import tsx driver.ts '<config json>'`). It
 * reads one JSON command per stdin line ({op:'sync', state} or
 * {op:'cleanup'}) and answers one JSON line per command on stdout.
 */
import { createInterface } from 'node:readline';
import type { ProxyConfig } from '../../../src/endpoints/proxy-config.ts';
import type { Endpoint, ProxyState, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { loadBackend } from '../../../src/endpoints/backends.ts';
import { ProxyMetrics } from '../../../src/endpoints/metrics.ts';

export interface WireState {
  services: ServicePort[];
  endpoints: Array<[string, Endpoint[]]>;
  changed: string[];
  deletedEndpoints: Array<{ serviceKey: string; endpoint: string }>;
  newlyActive: string[];
  /** The Node's primary IPs (for --nodeport-addresses primary). */
  nodeIPs?: string[];
}

export type DriverCommand = { op: 'sync'; state: WireState } | { op: 'cleanup' };

function fromWire(w: WireState): ProxyState {
  return {
    nodeName: 'node',
    nodeLabels: {},
    nodeIPs: w.nodeIPs ?? [],
    services: new Map(w.services.map((s) => [s.key, s])),
    endpoints: new Map(w.endpoints),
    changed: new Set(w.changed),
    udpConntrack: { deletedEndpoints: w.deletedEndpoints, newlyActiveServices: new Set(w.newlyActive) },
    triggerTimes: new Map(),
  };
}

const config = JSON.parse(process.argv[2] ?? '{}') as ProxyConfig;
// Inside the node namespace: the iptables mode's sysctls are the node's own.
const proxier = await (await loadBackend(config.mode))(config, new ProxyMetrics());

const reply = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as DriverCommand;
  if (cmd.op === 'sync') {
    const r = await proxier.sync(fromWire(cmd.state));
    reply(r.ok ? r : { ok: false, error: r.error.message });
  } else {
    await proxier.cleanup().then(() => reply({ ok: true }), (e: Error) => reply({ ok: false, error: e.message }));
  }
}
await proxier.close();
