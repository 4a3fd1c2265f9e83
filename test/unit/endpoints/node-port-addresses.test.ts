import test from 'ava';
import { inAnyCIDR, nodeHostIPs, nodePortCIDRs } from '../../../src/endpoints/node-port-addresses.ts';

// `--nodeport-addresses` per family, as kube-proxy's NewNodePortAddresses:
// the other family's CIDRs are ignored, a family without its own CIDRs
// accepts every address, `primary` is the node's primary IP (loopback when unknown).

const cidrCases: Array<{ name: string; flag: string[]; family: 4 | 6; primary?: string[]; want: readonly string[] | 'all' }> = [
  { name: 'empty: all', flag: [], family: 4, want: 'all' },
  { name: 'IPv4 proxier ignores IPv6 CIDRs', flag: ['fd00::/64', '192.168.0.0/16'], family: 4, want: ['192.168.0.0/16'] },
  { name: 'only the other family: all of this one', flag: ['fd00::/64'], family: 4, want: 'all' },
  { name: 'IPv6 proxier keeps its CIDRs', flag: ['fd00::/64', '192.168.0.0/16'], family: 6, want: ['fd00::/64'] },
  { name: 'primary: the node IP of the family', flag: ['primary'], family: 4, primary: ['fd00::5', '192.168.50.1'], want: ['192.168.50.1/32'] },
  { name: 'primary, IPv6', flag: ['primary'], family: 6, primary: ['192.168.50.1', 'fd00::5'], want: ['fd00::5/128'] },
  { name: 'primary with the node IP unknown: loopback, as kube-proxy assumes', flag: ['primary'], family: 4, primary: [], want: ['127.0.0.1/32'] },
];
for (const tc of cidrCases) test(`nodePortCIDRs: ${tc.name}`, (t) => t.deepEqual(nodePortCIDRs(tc.flag, tc.family, tc.primary), tc.want));

test('inAnyCIDR matches each address against CIDRs of its own family only', (t) => {
  t.true(inAnyCIDR('192.168.50.1', ['fd00::/8', '192.168.0.0/16']));
  t.false(inAnyCIDR('10.0.0.1', ['192.168.0.0/16', '::/0']));
  t.true(inAnyCIDR('fd00::1', ['fd00::/64']));
  t.true(inAnyCIDR('127.0.0.1', ['127.0.0.1/32']));
  t.false(inAnyCIDR('not-an-ip', ['0.0.0.0/0']));
});

test('nodeHostIPs: first InternalIP (else ExternalIP), plus the first of the other family', (t) => {
  const node = (addresses: Array<{ type: string; address: string }>) => ({ status: { addresses } });
  t.deepEqual(nodeHostIPs(node([{ type: 'Hostname', address: 'n1' }, { type: 'ExternalIP', address: '203.0.113.9' }, { type: 'InternalIP', address: '192.168.50.1' }, { type: 'InternalIP', address: '192.168.50.7' }])), ['192.168.50.1']);
  t.deepEqual(nodeHostIPs(node([{ type: 'InternalIP', address: '192.168.50.1' }, { type: 'ExternalIP', address: 'fd00::9' }])), ['192.168.50.1', 'fd00::9']);
  t.deepEqual(nodeHostIPs(node([{ type: 'ExternalIP', address: '203.0.113.9' }])), ['203.0.113.9']);
  t.deepEqual(nodeHostIPs(undefined), []);
});
