import test from 'ava';
import type { KubeObject } from '../../../src/kube/types.ts';
import { serviceStrategy } from '../../../src/apiserver-stub/strategies/service.ts';
import { ServiceAllocator } from '../../../src/apiserver-stub/allocators/service-allocator.ts';
import { parsePortRange } from '../../../src/apiserver-stub/allocators/cidr.ts';
import { bigIntToIpv6, ipv6ToBigInt, parseServiceCIDRs } from '../../../src/apiserver-stub/allocators/ipv6-range.ts';
import { ApiError } from '../../../src/apiserver-stub/errors.ts';

// `--service-cluster-ip-range 10.96.0.0/24,fd00:10:96::/112`, kube's
// dual-stack form: Services get addresses of the families their ipFamilies
// and ipFamilyPolicy ask for, defaulted as kube-apiserver does.

const svc = (spec: Record<string, unknown>, name = 's'): KubeObject => ({ metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }], ...spec } });

function cluster(range = '10.96.0.0/24,fd00:10:96::/112') {
  const cidrs = parseServiceCIDRs(range);
  const allocator = new ServiceAllocator(cidrs.v4, parsePortRange('30000-30009'), cidrs.v6);
  const strategy = serviceStrategy(allocator);
  /** create runs a create's defaulting, validation and reservation; it returns the spec or the causes' fields. */
  const create = (s: KubeObject): Record<string, unknown> | string[] => {
    strategy.defaults!(s);
    const causes = strategy.validate!(s, undefined);
    if (causes.length > 0) return causes.map((c) => c.field ?? '');
    strategy.reserve!(s, undefined)!.commit();
    allocator.record(`default/${s.metadata!.name}`, s);
    return s.spec as Record<string, unknown>;
  };
  return { allocator, create };
}

test('parseServiceCIDRs: one range or an IPv4,IPv6 pair; IPv6 ranges of at most a /108', (t) => {
  t.is(parseServiceCIDRs('10.96.0.0/12').v6, undefined);
  t.like(parseServiceCIDRs('10.96.0.0/12, fd00:10:96::/112'), { v4: { prefix: 12 }, v6: { prefix: 112, size: 65536 } });
  t.throws(() => parseServiceCIDRs('10.96.0.0/12,fd00::/64'), { message: /at most a \/108/ });
  t.throws(() => parseServiceCIDRs('10.96.0.0/12,10.97.0.0/16'), { message: /want an IPv6 CIDR/ });
  t.throws(() => parseServiceCIDRs('10.96.0.0/12,fd00::/112,fd01::/112'), { message: /at most two/ });
});

test('IPv6 addresses are spelled as RFC 5952 (what isIP-normalising clients compare)', (t) => {
  for (const ip of ['fd00:10:96::1', '::1', '2001:db8::', 'fd00:0:0:1::', '2001:db8:0:1:1:1:1:1', 'fe80::1:0:0:1']) t.is(bigIntToIpv6(ipv6ToBigInt(ip)), ip);
  t.is(bigIntToIpv6(ipv6ToBigInt('FD00:0010:0096:0000:0000:0000:0000:0001')), 'fd00:10:96::1');
});

test('families: IPv4 by default, IPv6 on request, both with a dual-stack policy', (t) => {
  const { create } = cluster();
  const plain = create(svc({}, 'plain')) as { ipFamilyPolicy: string; ipFamilies: string[]; clusterIPs: string[] };
  t.like(plain, { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] });
  t.regex(plain.clusterIPs.join(','), /^10\.96\.0\.\d+$/);
  const v6 = create(svc({ ipFamilies: ['IPv6'] }, 'v6')) as { clusterIP: string; clusterIPs: string[] };
  t.regex(v6.clusterIP, /^fd00:10:96::[0-9a-f]{1,4}$/);
  t.deepEqual(v6.clusterIPs, [v6.clusterIP]);
  const dual = create(svc({ ipFamilyPolicy: 'PreferDualStack' }, 'dual')) as { ipFamilies: string[]; clusterIPs: string[] };
  t.deepEqual(dual.ipFamilies, ['IPv4', 'IPv6']);
  t.regex(dual.clusterIPs[0]!, /^10\.96\.0\.\d+$/);
  t.regex(dual.clusterIPs[1]!, /^fd00:10:96::/);
});

test('requested IPv6 cluster IPs: their family is defaulted, they are honoured, and clash with a second owner', (t) => {
  const { allocator, create } = cluster();
  t.like(create(svc({ clusterIP: 'fd00:10:96::50' }, 'web')), { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack', clusterIPs: ['fd00:10:96::50'] });
  t.like(create(svc({ clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9', 'fd00:10:96::9'] }, 'pair')), { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
  const clash = svc({ clusterIP: 'fd00:10:96::50' }, 'other');
  t.throws(() => create(clash), { instanceOf: ApiError, message: /already allocated/ });
  t.throws(() => create(svc({ clusterIP: 'fd00:99::1' }, 'outside')), { instanceOf: ApiError, message: /not in the valid range. The range of valid IPs is fd00:10:96::\/112/ });
  allocator.record('default/web', undefined);
  t.like(create(svc({ clusterIP: 'fd00:10:96::50' }, 'again')), { clusterIPs: ['fd00:10:96::50'] });
});

test('validation: addresses follow ipFamilies; two families need a dual-stack policy', (t) => {
  const { create } = cluster();
  t.deepEqual(create(svc({ clusterIP: 'fd00:10:96::7', ipFamilies: ['IPv4'] }, 'mismatch')), ['spec.clusterIPs[0]']);
  t.deepEqual(create(svc({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'SingleStack' }, 'single')), ['spec.ipFamilyPolicy']);
  t.deepEqual(create(svc({ ipFamilies: ['IPv6', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }, 'dup')), ['spec.ipFamilies[1]']);
});

test('an IPv4-only cluster refuses IPv6 and RequireDualStack, and PreferDualStack stays IPv4', (t) => {
  const { create } = cluster('10.96.0.0/24');
  t.throws(() => create(svc({ ipFamilies: ['IPv6'] }, 'v6')), { instanceOf: ApiError, message: /not configured on this cluster/ });
  t.throws(() => create(svc({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }, 'req')), { instanceOf: ApiError });
  t.like(create(svc({ ipFamilyPolicy: 'PreferDualStack' }, 'pref')), { ipFamilies: ['IPv4'] });
});
