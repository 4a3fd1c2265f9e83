import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DaemonSet, Deployment } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { proxyFlags } from '../../../src/cli/commands/proxy.ts';
import dnsCommand from '../../../src/cli/commands/dns.ts';
import { parseFlags } from '../../../src/cli/flags.ts';
import { loadClientConfig } from '../../../src/client/kubeconfig.ts';
import { resolveProxySettings } from '../../../src/endpoints/kube-proxy-config.ts';
import { dataPlaneObjects, readDeployManifests } from '../../../src/lab/cluster/data-plane.ts';
import { CLUSTER_CIDR } from '../../../src/lab/cluster/plan.ts';

// What the lab changes in deploy/ before applying it (data-plane.ts), read
// back with ferry's own parsers: the proxy's effective settings come from the
// ConfigMap with the lab's mode and CIDR, its kubeconfig reaches the
// apiserver's socket, the extra flags land on the DaemonSet's command, the
// DNS Deployment is told the socket; nothing else differs from deploy/.

const socket = '/tmp/ferry-lab/api.sock';
const objects = dataPlaneObjects({ mode: 'nftables', socket, proxyArgs: ['--min-sync-period=0s'] });
const find = <T>(kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as unknown as T;

test('the kube-proxy ConfigMap: the lab\'s mode and cluster CIDR, and a kubeconfig for the apiserver\'s socket', (t) => {
  const cm = find<ConfigMap>('ConfigMap', 'kube-proxy');
  const ds = find<DaemonSet>('DaemonSet', 'ferry-proxy');
  const command = ds.spec!.template.spec!.containers[0]!.command!;
  t.deepEqual(command.slice(-1), ['--min-sync-period=0s'], 'ferry up --proxy-arg flags last');
  const parsed = parseFlags(proxyFlags, command.slice(2));
  const resolved = resolveProxySettings({ flags: parsed.flags, explicit: parsed.explicit, knownFlags: new Set(Object.keys(proxyFlags)), file: { path: 'config.conf', text: cm.data!['config.conf']! } });
  t.like(resolved.flags, { mode: 'nftables', 'cluster-cidr': [CLUSTER_CIDR], 'min-sync-period': 0 });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kubeconfig.conf'), cm.data!['kubeconfig.conf']!);
  t.is(loadClientConfig({ kubeconfig: join(dir, 'kubeconfig.conf'), env: {} }).server, `unix://${socket}`);
});

test('ferry-dns: the apiserver\'s socket and readiness every second; every other object as deploy/ has it', (t) => {
  const dns = find<Deployment>('Deployment', 'ferry-dns');
  const c = dns.spec!.template.spec!.containers[0]!;
  const parsed = parseFlags(dnsCommand.flags, c.args!);
  t.is(parsed.flags.server, `unix://${socket}`);
  t.is(parsed.flags.conf, '/etc/coredns/Corefile');
  t.is(c.readinessProbe?.periodSeconds, 1);
  const original = readDeployManifests();
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), original.map((o) => `${o.kind}/${o.metadata.name}`), 'the same objects, in the same order');
  const changed = new Set(['ConfigMap/kube-proxy', 'DaemonSet/ferry-proxy', 'Deployment/ferry-dns']);
  for (const [i, o] of objects.entries()) if (!changed.has(`${o.kind}/${o.metadata.name}`)) t.deepEqual(o, original[i], `${o.kind}/${o.metadata.name}`);
});
