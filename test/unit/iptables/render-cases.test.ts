import test from 'ava';
import type { ServicePort } from '../../../src/endpoints/proxy-state.ts';
import type { Endpoint } from '../../../src/endpoints/proxy-state.ts';
import { renderRules, type RenderOptions } from '../../../src/iptables/render.ts';
import { ep, OPTIONS, state, svc } from './fixtures.ts';

// Table of kube-proxy scenarios, each checked by the exact rules it must
// contain (and must not). Addresses follow fixtures.ts.

const SVC1 = 'XPGD46QRK7WJZT7O';
const SVC2 = 'GNZBNJ2PO5MGZ6GT';

interface Case {
  name: string;
  services: Array<[ServicePort, Endpoint[]]>;
  options?: Partial<RenderOptions>;
  /** Changed keys for a partial render; undefined renders in full. */
  changed?: string[];
  has: string[];
  hasNot?: string[];
}

const cases: Case[] = [
  {
    name: 'three endpoints: probabilities 1/3, 1/2, then unconditional',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.3')]]],
    has: [
      `-A KUBE-SVC-${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-SXIVWICOYRO3J4NJ`,
      '--probability 0.5000000000',
    ],
  },
  {
    // kube-proxy asks "endpoints anywhere?": pods and the node still reach the
    // remote endpoints through KUBE-EXT; outside clients hit the DROP.
    name: 'eTP Local without local endpoints: KUBE-EXT short-circuits pods and the node to KUBE-SVC, DROP for the rest',
    services: [[svc('ns2', 'svc2', { type: 'NodePort', clusterIPs: ['172.30.0.42'], nodePort: 3001, externalIPs: ['192.168.99.22'], externalTrafficPolicy: 'Local' }), [ep('10.180.1.1', { isLocal: false })]]],
    has: [
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP',
      `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-${SVC2}`,
      `-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-${SVC2}`,
      `-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-${SVC2}`,
      `-A KUBE-EXT-${SVC2} -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-${SVC2}`,
      `-A KUBE-EXT-${SVC2} -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-${SVC2}`,
    ],
    hasNot: [`KUBE-SVL-${SVC2}`, `-A KUBE-EXT-${SVC2} -j`],
  },
  {
    name: 'no endpoints at all: REJECT for cluster IP and node port',
    services: [[svc('ns2', 'svc2', { type: 'NodePort', clusterIPs: ['172.30.0.42'], nodePort: 3001 }), []]],
    has: [
      '-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT',
    ],
    hasNot: [`KUBE-SVC-${SVC2}`],
  },
  {
    name: '--masquerade-all masquerades every cluster IP packet',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]]],
    options: { masqueradeAll: true },
    has: [`-A KUBE-SVC-${SVC1} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ`],
    hasNot: ['! -s 10.0.0.0/8'],
  },
  {
    name: 'no --cluster-cidr: no local-traffic masquerade rule',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]]],
    options: { clusterCIDRs: [] },
    hasNot: ['-j KUBE-MARK-MASQ\n-A KUBE-SVC', '! -s 10.0.0.0/8'],
    has: [`-A KUBE-SVC-${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ`],
  },
  {
    name: '--nodeport-addresses: node ports only on the listed local IPs',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]]],
    options: { nodePortIPs: ['192.168.0.2'] },
    has: ['-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS'],
    hasNot: ['--dst-type LOCAL -j KUBE-NODEPORTS'],
  },
  {
    name: 'localhost NodePorts off: loopback kept out of KUBE-NODEPORTS, no KUBE-FIREWALL',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]]],
    options: { localhostNodePorts: false },
    has: ['-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS'],
    hasNot: ['KUBE-FIREWALL'],
  },
  {
    name: 'localhost NodePorts off with listed addresses: 127.0.0.1 is skipped',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]]],
    options: { localhostNodePorts: false, nodePortIPs: ['192.168.0.2', '127.0.0.1'] },
    has: ['-d 192.168.0.2 -j KUBE-NODEPORTS'],
    hasNot: ['-d 127.0.0.1 -j KUBE-NODEPORTS'],
  },
  {
    name: 'iTP Local with a local endpoint: cluster IP goes to KUBE-SVL',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'], internalTrafficPolicy: 'Local' }), [ep('10.180.0.1'), ep('10.180.1.1', { isLocal: false })]]],
    has: [
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVL-${SVC1}`,
      `-A KUBE-SVL-${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ`,
    ],
    hasNot: [`:KUBE-SVC-${SVC1}`, '10.180.1.1'],
  },
  {
    name: 'iTP Local with only remote endpoints: DROP "has no local endpoints"',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'], internalTrafficPolicy: 'Local' }), [ep('10.180.1.1', { isLocal: false })]]],
    has: ['-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP'],
  },
  {
    name: 'terminating endpoints serve when nothing is ready',
    services: [[svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1', { ready: false, serving: true, terminating: true }), ep('10.180.0.2', { ready: false, serving: false, terminating: true })]]],
    has: [`-A KUBE-SVC-${SVC1} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ`],
    hasNot: ['10.180.0.2'],
  },
  {
    name: 'partial render: only changed services get chains, every service keeps its dispatch rule',
    services: [
      [svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] }), [ep('10.180.0.1')]],
      [svc('ns2', 'svc2', { clusterIPs: ['172.30.0.42'] }), [ep('10.180.0.2')]],
    ],
    changed: ['ns2/svc2:p80'],
    has: [`:KUBE-SVC-${SVC2} - [0:0]`, `-d 172.30.0.41 --dport 80 -j KUBE-SVC-${SVC1}`],
    hasNot: [`:KUBE-SVC-${SVC1}`, ':KUBE-SEP-SXIVWICOYRO3J4NJ', '*mangle'],
  },
];

for (const tc of cases) {
  test(tc.name, (t) => {
    const out = renderRules(
      { state: state(tc.services, tc.changed), full: tc.changed === undefined, installedChains: new Set(), jumps: [] },
      { ...OPTIONS, ...tc.options },
    );
    for (const line of tc.has) t.true(out.text.includes(line), `missing: ${line}\n${out.text}`);
    for (const line of tc.hasNot ?? []) t.false(out.text.includes(line), `unexpected: ${line}`);
  });
}
