import test from 'ava';
import type { KubeObject } from '../../../src/kube/types.ts';
import { defaultService, serviceStrategy, validateService } from '../../../src/apiserver-stub/strategies/service.ts';
import { ServiceAllocator } from '../../../src/apiserver-stub/allocators/service-allocator.ts';
import { parseCidr, parsePortRange } from '../../../src/apiserver-stub/allocators/cidr.ts';
import { RangeAllocator, staticBandSize } from '../../../src/apiserver-stub/allocators/range.ts';
import { ApiError } from '../../../src/apiserver-stub/errors.ts';

const svc = (spec: Record<string, unknown>, name = 's'): KubeObject => ({ metadata: { name, namespace: 'default' }, spec });

test('defaults: type, affinity, protocol, targetPort, traffic policies, families', (t) => {
  const s = svc({ type: 'NodePort', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] });
  defaultService(s);
  t.like(s.spec, {
    type: 'NodePort',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    ipFamilyPolicy: 'SingleStack',
    ipFamilies: ['IPv4'],
  });
  const plain = svc({ ports: [{ port: 53, protocol: 'UDP', targetPort: 'dns' }] });
  defaultService(plain);
  t.like(plain.spec, { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ protocol: 'UDP', targetPort: 'dns' }] });
  t.false('externalTrafficPolicy' in (plain.spec as object));
});

const invalid: Array<[string, Record<string, unknown>, string]> = [
  ['no ports', { ports: [] }, 'spec.ports'],
  ['unnamed second port', { ports: [{ name: 'a', port: 1 }, { port: 2 }] }, 'spec.ports[1].name'],
  ['duplicate names', { ports: [{ name: 'a', port: 1 }, { name: 'a', port: 2 }] }, 'spec.ports[1].name'],
  ['port out of range', { ports: [{ port: 0 }] }, 'spec.ports[0].port'],
  ['protocol', { ports: [{ port: 1, protocol: 'ICMP' }] }, 'spec.ports[0].protocol'],
  ['duplicate port/protocol', { ports: [{ name: 'a', port: 1 }, { name: 'b', port: 1 }] }, 'spec.ports[1]'],
  ['nodePort on ClusterIP', { ports: [{ port: 1, nodePort: 30001 }] }, 'spec.ports[0].nodePort'],
  ['bad clusterIP', { clusterIP: 'x', ports: [{ port: 1 }] }, 'spec.clusterIP'],
  ['ExternalName without name', { type: 'ExternalName' }, 'spec.externalName'],
  ['ExternalName with clusterIP', { type: 'ExternalName', externalName: 'a.b', clusterIP: '10.96.0.9' }, 'spec.clusterIP'],
  ['bad type', { type: 'Bogus', ports: [{ port: 1 }] }, 'spec.type'],
  ['affinity timeout', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } }, ports: [{ port: 1 }] }, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds'],
  ['etp on ClusterIP', { externalTrafficPolicy: 'Local', ports: [{ port: 1 }] }, 'spec.externalTrafficPolicy'],
  ['bad targetPort name', { ports: [{ port: 1, targetPort: 'Not_Valid' }] }, 'spec.ports[0].targetPort'],
];

for (const [name, spec, field] of invalid) {
  test(`validation: ${name} → ${field}`, (t) => {
    const s = svc(spec);
    defaultService(s);
    const causes = validateService(s, undefined);
    t.true(causes.some((c) => c.field === field), JSON.stringify(causes));
  });
}

test('validation: headless without ports is fine; clusterIP is immutable', (t) => {
  const headless = svc({ clusterIP: 'None' });
  defaultService(headless);
  t.deepEqual(validateService(headless, undefined), []);
  const old = svc({ clusterIP: '10.96.0.10', ports: [{ port: 1 }] });
  const changed = svc({ clusterIP: '10.96.0.11', ports: [{ port: 1 }] });
  defaultService(old);
  defaultService(changed);
  t.true(validateService(changed, old).some((c) => c.field === 'spec.clusterIP' && c.message?.includes('immutable')));
});

test('range allocator: dynamic picks skip the static band until the rest is full', (t) => {
  const r = new RangeAllocator(20, 16);
  const got = Array.from({ length: 4 }, () => r.allocate()!);
  t.deepEqual(got.sort((a, b) => a - b), [16, 17, 18, 19]);
  t.is(r.allocate(), 0);
  t.false(r.take(0));
  t.true(r.take(5));
  t.is(staticBandSize(1 << 20), 256);
  t.is(staticBandSize(64), 16);
});

test('service allocator: requested IPs and ports honoured, conflicts rejected, released on delete', (t) => {
  const a = new ServiceAllocator(parseCidr('10.96.0.0/24'), parsePortRange('30000-30009'));
  t.is(a.firstIP(), '10.96.0.1');
  const one = svc({ type: 'NodePort', clusterIP: '10.96.0.5', ports: [{ port: 80, nodePort: 30001 }] }, 'one');
  a.reserve(one).commit();
  a.record('default/one', one);
  const clash = svc({ type: 'NodePort', clusterIP: '10.96.0.5', ports: [{ port: 80 }] }, 'two');
  const err = t.throws(() => a.reserve(clash), { instanceOf: ApiError });
  t.is(err?.status.details?.causes?.[0]?.field, 'spec.clusterIPs');
  const portClash = svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }, 'three');
  t.throws(() => a.reserve(portClash), { instanceOf: ApiError });
  t.throws(() => a.reserve(svc({ clusterIP: '192.168.0.1', ports: [{ port: 1 }] }, 'four')), { instanceOf: ApiError });
  const dynamic = svc({ type: 'NodePort', ports: [{ port: 80 }] }, 'five');
  a.reserve(dynamic).commit();
  const spec = dynamic.spec as { clusterIP: string; ports: Array<{ nodePort: number }> };
  t.regex(spec.clusterIP, /^10\.96\.0\.(1[6-9]|[2-9]\d|1\d\d|2[0-4]\d|25[0-4])$/, 'dynamic IPs come from above the static band');
  t.true(spec.ports[0]!.nodePort >= 30000 && spec.ports[0]!.nodePort <= 30009);
  a.record('default/one', undefined);
  t.notThrows(() => a.reserve(svc({ clusterIP: '10.96.0.5', ports: [{ port: 1 }] }, 'six')).commit());
});

test('service allocator: a failed write gives the reservation back', (t) => {
  const a = new ServiceAllocator(parseCidr('10.96.0.0/24'), parsePortRange('30000-30009'));
  a.reserve(svc({ clusterIP: '10.96.0.7', ports: [{ port: 1 }] }, 'x')).cancel();
  t.notThrows(() => a.reserve(svc({ clusterIP: '10.96.0.7', ports: [{ port: 1 }] }, 'y')));
});

test('update: switching to ExternalName drops the allocated clusterIP; leaving NodePort drops node ports', (t) => {
  const strategy = serviceStrategy(new ServiceAllocator(parseCidr('10.96.0.0/24'), parsePortRange('30000-30009')));
  const old = svc({ type: 'NodePort', clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ port: 80, nodePort: 30001 }] });
  defaultService(old);
  const toExternal = structuredClone(old);
  Object.assign(toExternal.spec as object, { type: 'ExternalName', externalName: 'example.com' });
  strategy.prepareForUpdate!(toExternal, old);
  defaultService(toExternal);
  t.deepEqual(validateService(toExternal, old).filter((c) => c.field === 'spec.clusterIP'), []);
  const toClusterIP = structuredClone(old);
  (toClusterIP.spec as { type: string }).type = 'ClusterIP';
  strategy.prepareForUpdate!(toClusterIP, old);
  defaultService(toClusterIP);
  t.deepEqual(validateService(toClusterIP, old), []);
  t.false('nodePort' in ((toClusterIP.spec as { ports: object[] }).ports[0]!));
});
