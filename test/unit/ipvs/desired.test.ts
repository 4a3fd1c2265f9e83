import test from 'ava';
import type { Endpoint, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { DesiredIndex } from '../../../src/ipvs/desired-index.ts';
import { serviceDesired, SET, vsKey } from '../../../src/ipvs/desired.ts';
import { IPVS_SVC_F_PERSISTENT } from '../../../src/netlink/ipvs.ts';
import { proxyState, servicePort } from '../../helpers/proxy-state-fixtures.ts';

/**
 * Test addresses: service IPs 10.96.0.0/16, pods 10.244.0.0/16, node
 * addresses 192.168.50.1 and fd00::1.
 */
const base: ServicePort = servicePort('ns', 'web', { portName: 'http', clusterIPs: ['10.96.0.10'] });
const ep = (ip: string, extra: Partial<Endpoint> = {}): Endpoint => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: false, ...extra });
const opts = { scheduler: 'rr', nodeIPs: ['192.168.50.1', 'fd00::1'] };

interface Case {
  name: string;
  svc: Partial<ServicePort>;
  eps: Endpoint[];
  /** vsKey → sorted `ip:port:weight` of its real servers. */
  virtualServers: Record<string, string[]>;
  addresses: string[];
  sets: string[];
  rejects?: number;
}

const cases: Case[] = [
  {
    name: 'ClusterIP with two endpoints, one not ready',
    svc: {},
    eps: [ep('10.244.1.10'), ep('10.244.1.11', { ready: false, serving: false })],
    virtualServers: { [vsKey('TCP', '10.96.0.10', 80)]: ['10.244.1.10:8080:1'] },
    addresses: ['10.96.0.10'],
    sets: [`${SET.clusterIP} 10.96.0.10,tcp:80`, `${SET.ipvsIPs} 10.96.0.10`],
  },
  {
    name: 'NodePort on each IPv4 node address, external IP, LB IP, hairpin entry for a local endpoint',
    svc: { type: 'LoadBalancer', nodePort: 30080, externalIPs: ['203.0.113.5'], loadBalancerIPs: ['198.51.100.7'] },
    eps: [ep('10.244.1.10', { isLocal: true })],
    virtualServers: {
      [vsKey('TCP', '10.96.0.10', 80)]: ['10.244.1.10:8080:1'],
      [vsKey('TCP', '192.168.50.1', 30080)]: ['10.244.1.10:8080:1'],
      [vsKey('TCP', '203.0.113.5', 80)]: ['10.244.1.10:8080:1'],
      [vsKey('TCP', '198.51.100.7', 80)]: ['10.244.1.10:8080:1'],
    },
    addresses: ['10.96.0.10', '203.0.113.5', '198.51.100.7'],
    sets: [
      `${SET.clusterIP} 10.96.0.10,tcp:80`,
      `${SET.externalIP} 203.0.113.5,tcp:80`,
      `${SET.loadBalancer} 198.51.100.7,tcp:80`,
      `${SET.ipvsIPs} 10.96.0.10`,
      `${SET.ipvsIPs} 203.0.113.5`,
      `${SET.ipvsIPs} 198.51.100.7`,
      `${SET.nodePortTCP} 30080`,
      `${SET.loopBack} 10.244.1.10,tcp:8080,10.244.1.10`,
    ],
  },
  {
    name: 'externalTrafficPolicy Local: NodePort only to local endpoints, ClusterIP to all',
    svc: { nodePort: 30081, protocol: 'UDP', externalTrafficPolicy: 'Local' },
    eps: [ep('10.244.1.10', { isLocal: true }), ep('10.244.2.10')],
    virtualServers: {
      [vsKey('UDP', '10.96.0.10', 80)]: ['10.244.1.10:8080:1', '10.244.2.10:8080:1'],
      [vsKey('UDP', '192.168.50.1', 30081)]: ['10.244.1.10:8080:1'],
    },
    addresses: ['10.96.0.10'],
    sets: [`${SET.ipvsIPs} 10.96.0.10`, `${SET.clusterIP} 10.96.0.10,udp:80`, `${SET.nodePortUDP} 30081`, `${SET.nodePortLocalUDP} 30081`, `${SET.loopBack} 10.244.1.10,udp:8080,10.244.1.10`],
  },
  {
    // kube-proxy's IPVS mode (kubernetes#97081): pods and the node still reach a
    // Local-policy service whose endpoints are all on other nodes.
    name: 'externalTrafficPolicy Local, endpoints only on other nodes: external addresses fall back to them',
    svc: { type: 'LoadBalancer', nodePort: 30084, externalIPs: ['203.0.113.5'], externalTrafficPolicy: 'Local' },
    eps: [ep('10.244.2.10')],
    virtualServers: {
      [vsKey('TCP', '10.96.0.10', 80)]: ['10.244.2.10:8080:1'],
      [vsKey('TCP', '192.168.50.1', 30084)]: ['10.244.2.10:8080:1'],
      [vsKey('TCP', '203.0.113.5', 80)]: ['10.244.2.10:8080:1'],
    },
    addresses: ['10.96.0.10', '203.0.113.5'],
    sets: [
      `${SET.clusterIP} 10.96.0.10,tcp:80`,
      `${SET.ipvsIPs} 10.96.0.10`,
      `${SET.ipvsIPs} 203.0.113.5`,
      // As kube-proxy: a Local policy's external IP is in the -LOCAL set only.
      `${SET.externalIPLocal} 203.0.113.5,tcp:80`,
      `${SET.nodePortTCP} 30084`,
      `${SET.nodePortLocalTCP} 30084`,
    ],
  },
  {
    name: 'no endpoints: virtual servers stay (empty) and REJECT targets appear for the IP and the NodePort',
    svc: { nodePort: 30082 },
    eps: [],
    virtualServers: { [vsKey('TCP', '10.96.0.10', 80)]: [], [vsKey('TCP', '192.168.50.1', 30082)]: [] },
    addresses: ['10.96.0.10'],
    sets: [`${SET.clusterIP} 10.96.0.10,tcp:80`, `${SET.ipvsIPs} 10.96.0.10`, `${SET.nodePortTCP} 30082`],
    rejects: 2,
  },
  {
    name: 'headless: nothing',
    svc: { clusterIPs: [] },
    eps: [ep('10.244.1.10')],
    virtualServers: {},
    addresses: [],
    sets: [],
  },
  {
    // The IPv6 proxier's sets (ipset.ts names them KUBE-6-...).
    name: 'IPv6 service: IPv6 NodePort address only, entries of its family',
    svc: { clusterIPs: ['fd00:96::10'], nodePort: 30083 },
    eps: [ep('fd00:244::10')],
    virtualServers: { [vsKey('TCP', 'fd00:96::10', 80)]: ['fd00:244::10:8080:1'], [vsKey('TCP', 'fd00::1', 30083)]: ['fd00:244::10:8080:1'] },
    addresses: ['fd00:96::10'],
    sets: [`${SET.clusterIP} fd00:96::10,tcp:80`, `${SET.ipvsIPs} fd00:96::10`, `${SET.nodePortTCP} 30083`],
  },
];

for (const c of cases) {
  test(`desired: ${c.name}`, (t) => {
    const d = serviceDesired({ ...base, ...c.svc }, c.eps, opts);
    const vs = Object.fromEntries([...d.virtualServers].map(([k, v]) => [k, [...v.dests.values()].map((x) => `${x.address}:${x.port}:${x.weight}`).sort()]));
    t.deepEqual(vs, c.virtualServers);
    t.deepEqual(d.addresses, c.addresses);
    t.deepEqual(d.setEntries.map(([s, e]) => `${s} ${e}`).sort(), [...c.sets].sort());
    t.is(d.rejects.length, c.rejects ?? 0);
  });
}

test('desired: ClientIP affinity is persistence with the service timeout; the scheduler comes from config', (t) => {
  const d = serviceDesired({ ...base, sessionAffinity: { type: 'ClientIP', timeoutSeconds: 10800 } }, [ep('10.244.1.10')], { ...opts, scheduler: 'lc' });
  const { service } = [...d.virtualServers.values()][0]!;
  t.deepEqual(
    { scheduler: service.scheduler, flags: service.flags, timeout: service.timeout, netmask: service.netmask },
    { scheduler: 'lc', flags: IPVS_SVC_F_PERSISTENT, timeout: 10800, netmask: 0xffffffff },
  );
});

test('DesiredIndex.entriesBySet: every ipset\'s entries in one pass, as the full sync\'s restore takes them; shared entries once, gone ones gone', (t) => {
  const index = new DesiredIndex();
  const opts = { scheduler: 'rr', nodeIPs: [] };
  const a = servicePort('ns', 'a', { clusterIPs: ['10.96.0.1'] });
  const a2 = servicePort('ns', 'a', { portName: 'p81', port: 81, clusterIPs: ['10.96.0.1'] });
  const b = servicePort('ns', 'b', { clusterIPs: ['10.96.0.2'] });
  const local: Endpoint = { ip: '10.244.0.5', port: 8080, ready: true, serving: true, terminating: false, isLocal: true };
  let state = proxyState([[a, [local]], [a2, []], [b, []]]);
  for (const key of state.services.keys()) index.update(key, state, opts, new Set());
  t.deepEqual(Object.fromEntries(index.entriesBySet()), {
    [SET.clusterIP]: ['10.96.0.1,tcp:80', '10.96.0.1,tcp:81', '10.96.0.2,tcp:80'],
    [SET.ipvsIPs]: ['10.96.0.1', '10.96.0.2'],
    [SET.loopBack]: ['10.244.0.5,tcp:8080,10.244.0.5'],
  });
  state = proxyState([[a, [local]], [a2, []]], [b.key]);
  index.update(b.key, state, opts, new Set());
  t.deepEqual(Object.fromEntries(index.entriesBySet()), {
    [SET.clusterIP]: ['10.96.0.1,tcp:80', '10.96.0.1,tcp:81'],
    [SET.ipvsIPs]: ['10.96.0.1'],
    [SET.loopBack]: ['10.244.0.5,tcp:8080,10.244.0.5'],
  });
});
