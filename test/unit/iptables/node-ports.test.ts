import test from 'ava';
import { nodePortTargets } from '../../../src/iptables/node-ports.ts';

// Where the iptables (IPv4) proxier accepts NodePorts, and whether they also
// answer on 127.0.0.1, from --nodeport-addresses and
// --iptables-localhost-nodeports. Local IPs: 192.168.50.1 (eth0), 10.244.1.1 (cbr0).
const LOCAL = ['192.168.50.1', '10.244.1.1'];

const cases: Array<{ name: string; flag: string[]; localhost?: boolean; primary?: string[]; want: ReturnType<typeof nodePortTargets> }> = [
  { name: 'default: every local address, localhost too', flag: [], want: { nodePortIPs: 'all', localhostNodePorts: true } },
  { name: 'localhost flag off', flag: [], localhost: false, want: { nodePortIPs: 'all', localhostNodePorts: false } },
  { name: 'an IPv6 CIDR alone is ignored: every IPv4 address', flag: ['fd00::/64'], want: { nodePortIPs: 'all', localhostNodePorts: true } },
  { name: 'IPv4 CIDR without loopback turns localhost off', flag: ['192.168.0.0/16', 'fd00::/64'], want: { nodePortIPs: ['192.168.50.1'], localhostNodePorts: false } },
  { name: 'a CIDR with loopback keeps it', flag: ['192.168.0.0/16', '127.0.0.0/8'], want: { nodePortIPs: ['192.168.50.1', '127.0.0.1'], localhostNodePorts: true } },
  { name: 'primary: the node IP only', flag: ['primary'], primary: ['192.168.50.1'], want: { nodePortIPs: ['192.168.50.1'], localhostNodePorts: false } },
  { name: 'primary with the node IP unknown: loopback only', flag: ['primary'], primary: [], want: { nodePortIPs: ['127.0.0.1'], localhostNodePorts: true } },
];
for (const tc of cases) {
  test(`nodePortTargets: ${tc.name}`, (t) => {
    t.deepEqual(nodePortTargets({ nodePortAddresses: tc.flag, localhostNodePorts: tc.localhost ?? true }, LOCAL, tc.primary), tc.want);
  });
}

// The IPv6 proxier: its own family's CIDRs, and never loopback (no
// route_localnet for IPv6). Local IPs: 2001:db8::1 (eth0), fd00:10:244:1::1 (cbr0).
const LOCAL6 = ['2001:db8::1', 'fd00:10:244:1::1'];
const cases6: Array<{ name: string; flag: string[]; primary?: string[]; want: ReturnType<typeof nodePortTargets> }> = [
  { name: 'default: every local address, never localhost', flag: [], want: { nodePortIPs: 'all', localhostNodePorts: false } },
  { name: 'IPv4 CIDRs alone are ignored', flag: ['192.168.0.0/16'], want: { nodePortIPs: 'all', localhostNodePorts: false } },
  { name: 'its own CIDR picks its addresses', flag: ['192.168.0.0/16', '2001:db8::/64'], want: { nodePortIPs: ['2001:db8::1'], localhostNodePorts: false } },
  { name: 'a CIDR with ::1 lists it, localhost stays off (the renderer skips it)', flag: ['::1/128'], want: { nodePortIPs: ['::1'], localhostNodePorts: false } },
  { name: 'primary: the node IP of the family', flag: ['primary'], primary: ['192.168.50.1', '2001:db8::1'], want: { nodePortIPs: ['2001:db8::1'], localhostNodePorts: false } },
];
for (const tc of cases6) {
  test(`nodePortTargets IPv6: ${tc.name}`, (t) => {
    t.deepEqual(nodePortTargets({ nodePortAddresses: tc.flag, localhostNodePorts: true }, LOCAL6, tc.primary, 6), tc.want);
  });
}
