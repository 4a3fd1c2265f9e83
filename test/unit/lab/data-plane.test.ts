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
// ConfigMap with the lab's mode and CIDR, its kubeconfig names the lab's
// apiserver and keeps the ServiceAccount's token and CA, the extra flags land
// on the DaemonSet's command, the DNS Deployment is left to its in-cluster
// config; nothing else differs from deploy/.

const server = 'https://192.168.200.2:16443';
const objects = dataPlaneObjects({ mode: 'nftables', server, proxyArgs: ['--min-sync-period=0s'] });
const find = <T>(kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as unknown as T;

test('the kube-proxy ConfigMap: the lab\'s mode and cluster CIDR, and a kubeconfig for the lab\'s apiserver with the ServiceAccount\'s credentials', (t) => {
  const cm = find<ConfigMap>('ConfigMap', 'kube-proxy');
  const ds = find<DaemonSet>('DaemonSet', 'ferry-proxy');
  const command = ds.spec!.template.spec!.containers[0]!.command!;
  t.deepEqual(command.slice(-1), ['--min-sync-period=0s'], 'ferry up --proxy-arg flags last');
  const parsed = parseFlags(proxyFlags, command.slice(2));
  const resolved = resolveProxySettings({ flags: parsed.flags, explicit: parsed.explicit, knownFlags: new Set(Object.keys(proxyFlags)), file: { path: 'config.conf', text: cm.data!['config.conf']! } });
  t.like(resolved.flags, { mode: 'nftables', 'cluster-cidr': [CLUSTER_CIDR], 'min-sync-period': 0 });
  // The ServiceAccount's files as the pod has them, for ferry's own kubeconfig loader.
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'kubeconfig.conf'), cm.data!['kubeconfig.conf']!.replaceAll('/var/run/secrets/kubernetes.io/serviceaccount', dir));
  const config = loadClientConfig({ kubeconfig: join(dir, 'kubeconfig.conf'), env: {} });
  t.is(config.server, server);
  t.is(config.tokenFile, join(dir, 'token'));
  t.truthy(config.ca);
});

test('ferry-dns: in-cluster config to the apiserver\'s address and readiness every second; every other object as deploy/ has it', (t) => {
  const dns = find<Deployment>('Deployment', 'ferry-dns');
  const c = dns.spec!.template.spec!.containers[0]!;
  const parsed = parseFlags(dnsCommand.flags, c.args!);
  t.is(parsed.flags.server, undefined);
  t.is(parsed.flags.kubeconfig, undefined);
  // In-cluster config (the ServiceAccount's token and CA) to the apiserver's own address.
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
  t.like(env, { KUBERNETES_SERVICE_HOST: '192.168.200.2', KUBERNETES_SERVICE_PORT: '16443' });
  t.is(parsed.flags.conf, '/etc/coredns/Corefile');
  t.is(c.readinessProbe?.periodSeconds, 1);
  const original = readDeployManifests();
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), original.map((o) => `${o.kind}/${o.metadata.name}`), 'the same objects, in the same order');
  const changed = new Set(['ConfigMap/kube-proxy', 'DaemonSet/ferry-proxy', 'Deployment/ferry-dns']);
  for (const [i, o] of objects.entries()) if (!changed.has(`${o.kind}/${o.metadata.name}`)) t.deepEqual(o, original[i], `${o.kind}/${o.metadata.name}`);
});
