import test from 'ava';
import { canonicalIPs, parseCIDRSloppy, parseIPSloppy } from '../../../src/util/sloppy-ip.ts';

// What k8s.io/utils/net's ParseIPSloppy(x).String() and ParseCIDRSloppy's
// IPNet.String() give (Go 1.16's parser: leading zeros are decimal).

const ips: Array<[string, string | undefined]> = [
  ['172.30.0.41', '172.30.0.41'],
  ['172.30.0.041', '172.30.0.41'],
  ['010.180.00.001', '10.180.0.1'],
  ['1.2.3.004', '1.2.3.4'],
  ['0000000001.2.3.4', '1.2.3.4'],
  ['1.2.3.256', undefined],
  ['1.2.3', undefined],
  ['1.2.3.4.5', undefined],
  [' 1.2.3.4', undefined],
  ['', undefined],
  ['None', undefined],
  ['2001:DB8:0:0:0:0:0:0001', '2001:db8::1'],
  ['2001:db8:0:1:0:0:1:0', '2001:db8:0:1::1:0'],
  ['::ffff:1.2.3.004', '1.2.3.4'],
  ['fe80::1%eth0', undefined],
  ['2001:db8::g', undefined],
];
for (const [input, want] of ips) {
  test(`parseIPSloppy(${JSON.stringify(input)}) is ${String(want)}`, (t) => {
    t.is(parseIPSloppy(input), want);
  });
}

const cidrs: Array<[string, string | undefined]> = [
  ['203.0.113.0/25', '203.0.113.0/25'],
  ['203.0.113.000/025', '203.0.113.0/25'],
  ['203.0.113.130/25', '203.0.113.128/25'],
  ['10.1.2.3/0', '0.0.0.0/0'],
  ['10.1.2.3/32', '10.1.2.3/32'],
  ['10.1.2.3/33', undefined],
  ['10.1.2.3', undefined],
  ['2001:db8::1/64', '2001:db8::/64'],
  ['2001:db8:0:0:ff00::/72', '2001:db8:0:0:ff00::/72'],
  ['2001:db8:0:0:ff00::/64', '2001:db8::/64'],
  ['2001:db8::/129', undefined],
];
for (const [input, want] of cidrs) {
  test(`parseCIDRSloppy(${JSON.stringify(input)}) is ${String(want)}`, (t) => {
    t.is(parseCIDRSloppy(input), want);
  });
}

test('canonicalIPs reads each address and drops what is not one', (t) => {
  t.deepEqual(canonicalIPs(['172.30.0.041', 'bogus', '2001:db8::01']), ['172.30.0.41', '2001:db8::1']);
});
