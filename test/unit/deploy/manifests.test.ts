import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ConfigMap, Container, Service, ServiceAccount, Volume } from 'kubernetes-types/core/v1.d.ts';
import type { DaemonSet, Deployment } from 'kubernetes-types/apps/v1.d.ts';
import type { ClusterRole, ClusterRoleBinding } from 'kubernetes-types/rbac/v1.d.ts';
import dnsCommand from '../../../src/cli/commands/dns.ts';
import { proxyFlags } from '../../../src/cli/commands/proxy.ts';
import { parseFlags } from '../../../src/cli/flags.ts';
import { loadCorefile } from '../../../src/dns/corefile/runner.ts';
import { resolveProxySettings } from '../../../src/endpoints/kube-proxy-config.ts';

// deploy/*.yaml: the static manifests of ferry-proxy and ferry-dns, checked
// for the shapes the kubeadm objects they replace have, and against ferry
// itself: the commands parse with ferry's own flags, the config files they
// mount are ones ferry starts with, the ports and probes match the Corefile.

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
const DIR = new URL('../../../deploy/', import.meta.url);
const docs: Obj[] = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).flatMap((f) => {
  return parseAllDocuments(readFileSync(new URL(f, DIR), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${f}: ${d.errors[0]!.message}`);
    return d.toJS() as Obj;
  });
});
function find<T>(kind: string, name: string): T {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!doc) throw new Error(`no ${kind} ${name} in deploy/`);
  return doc as unknown as T;
}
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding']);

test('every document names its kind, version and name; namespaced ones live in kube-system', (t) => {
  t.true(docs.length >= 9);
  for (const d of docs) {
    t.truthy(d.apiVersion && d.kind && d.metadata?.name, JSON.stringify(d).slice(0, 80));
    t.is(d.metadata.namespace, CLUSTER_SCOPED.has(d.kind) ? undefined : 'kube-system', `${d.kind}/${d.metadata.name}`);
  }
});

/** mountedFile resolves a path in a container to the ConfigMap key it reads. */
function mountedFile(c: Container, volumes: Volume[], path: string): { configMap: string; key: string } {
  const m = c.volumeMounts!.find((v) => path.startsWith(`${v.mountPath}/`))!;
  const vol = volumes.find((v) => v.name === m.name)!;
  const rel = posix.relative(m.mountPath, path);
  const key = vol.configMap!.items?.find((i) => i.path === rel)?.key ?? rel;
  return { configMap: vol.configMap!.name!, key };
}

test('ferry-proxy is a DaemonSet shaped as kube-proxy and starts with the kube-proxy ConfigMap', (t) => {
  const ds = find<DaemonSet>('DaemonSet', 'ferry-proxy');
  const pod = ds.spec!.template.spec!;
  t.deepEqual(ds.spec!.selector.matchLabels, ds.spec!.template.metadata!.labels);
  t.true(pod.hostNetwork);
  t.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  t.is(pod.priorityClassName, 'system-node-critical');
  const c = pod.containers[0]!;
  t.true(c.securityContext?.privileged);
  const volumes = pod.volumes!;
  const hostPath = (p: string) => volumes.find((v) => v.hostPath?.path === p);
  t.is(hostPath('/run/xtables.lock')?.hostPath?.type, 'FileOrCreate');
  t.true(c.volumeMounts!.some((m) => m.mountPath === '/run/xtables.lock' && m.name === hostPath('/run/xtables.lock')!.name));
  t.true(c.volumeMounts!.some((m) => m.mountPath === '/lib/modules' && m.readOnly && m.name === hostPath('/lib/modules')!.name));
  // The command is one ferry parses, and it names NODE_NAME, which the pod sets from spec.nodeName.
  t.deepEqual(c.command!.slice(0, 2), ['ferry', 'proxy']);
  const parsed = parseFlags(proxyFlags, c.command!.slice(2));
  t.is(parsed.flags['hostname-override'], '$(NODE_NAME)');
  t.is(c.env!.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  const file = mountedFile(c, volumes, parsed.flags.config!);
  t.deepEqual(file, { configMap: 'kube-proxy', key: 'config.conf' });
  const cm = find<ConfigMap>('ConfigMap', 'kube-proxy');
  const settings = resolveProxySettings({ flags: parsed.flags, explicit: parsed.explicit, knownFlags: new Set(Object.keys(proxyFlags)), file: { path: file.key, text: cm.data![file.key]! } });
  t.like(settings.flags, { mode: 'iptables', 'cluster-cidr': ['10.244.0.0/16'], kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf', 'hostname-override': '$(NODE_NAME)' });
  t.is(mountedFile(c, volumes, settings.flags.kubeconfig as string).key, 'kubeconfig.conf');
  t.truthy(cm.data!['kubeconfig.conf']);
  t.is(c.livenessProbe?.httpGet?.port, Number(String(settings.flags['healthz-bind-address']).split(':').pop()));
  // Its service account may do what kube-proxy may.
  t.truthy(find<ServiceAccount>('ServiceAccount', pod.serviceAccountName!));
  const binding = docs.find((d) => d.kind === 'ClusterRoleBinding' && (d as unknown as ClusterRoleBinding).roleRef.name === 'system:node-proxier') as unknown as ClusterRoleBinding;
  t.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'kube-system' }]);
});

test('kube-proxy ConfigMap config.conf is kubeadm 1.30\'s, byte for byte', (t) => {
  const cm = find<ConfigMap>('ConfigMap', 'kube-proxy');
  const fixture = readFileSync(new URL('../../fixtures/kube-proxy/kubeadm-1.30-config.conf', import.meta.url), 'utf8');
  t.is(cm.data!['config.conf'], fixture.trimEnd());
});

test('ferry-dns is a Deployment behind kube-dns whose ports and probes are those of its Corefile', (t) => {
  const dep = find<Deployment>('Deployment', 'ferry-dns');
  const pod = dep.spec!.template.spec!;
  const labels = dep.spec!.template.metadata!.labels!;
  t.deepEqual(dep.spec!.selector.matchLabels, labels);
  const svc = find<Service>('Service', 'kube-dns');
  t.deepEqual(svc.spec!.selector, labels);
  t.is(svc.spec!.clusterIP, '10.96.0.10');
  const c = pod.containers[0]!;
  t.deepEqual(c.command, ['ferry', 'dns']);
  const parsed = parseFlags(dnsCommand.flags, c.args!);
  const file = mountedFile(c, pod.volumes!, parsed.flags.conf!);
  t.deepEqual(file, { configMap: 'coredns', key: 'Corefile' });
  const [server] = loadCorefile(find<ConfigMap>('ConfigMap', 'coredns').data!.Corefile!);
  const port = (addr: string | undefined) => Number(addr?.split(':').pop());
  for (const protocol of ['UDP', 'TCP']) t.true(c.ports!.some((p) => p.containerPort === server!.port && p.protocol === protocol), `${protocol} ${server!.port}`);
  t.true(c.ports!.some((p) => p.containerPort === port(server!.prometheus)));
  t.is(c.livenessProbe!.httpGet!.port, port(server!.health!.address));
  t.is(c.readinessProbe!.httpGet!.port, port(server!.ready));
  for (const p of svc.spec!.ports!) t.true(c.ports!.some((cp) => cp.containerPort === p.port && cp.protocol === p.protocol), `service port ${p.name}`);
  t.true(c.securityContext!.capabilities!.add!.includes('NET_BIND_SERVICE'));
  // RBAC: what the informers list and watch.
  t.is(pod.serviceAccountName, 'coredns');
  const role = find<ClusterRole>('ClusterRole', 'system:coredns');
  const allowed = (group: string, resource: string) => role.rules!.some((r) => r.apiGroups!.includes(group) && r.resources!.includes(resource) && ['list', 'watch'].every((v) => r.verbs.includes(v)));
  for (const [group, resource] of [['', 'services'], ['', 'namespaces'], ['', 'pods'], ['discovery.k8s.io', 'endpointslices']] as const) t.true(allowed(group, resource), resource);
  const binding = find<ClusterRoleBinding>('ClusterRoleBinding', 'system:coredns');
  t.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }]);
});
