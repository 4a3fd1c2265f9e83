import test from 'ava';
import { ipv6ToBigInt } from '../../../src/apiserver-stub/allocators/ipv6-range.ts';
import { formatIPv6, ipv6Groups } from '../../../src/util/ipv6.ts';

test('ipv6Groups reads every valid spelling: full, with ::, and with an IPv4 tail', (t) => {
  t.deepEqual(ipv6Groups('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.deepEqual(ipv6Groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual(ipv6Groups('FD00::1'), [0xfd00, 0, 0, 0, 0, 0, 0, 1]);
  t.deepEqual(ipv6Groups('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
});

test('formatIPv6 is RFC 5952: the longest zero run of two or more groups compressed, the first of equal runs', (t) => {
  t.is(formatIPv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), '2001:db8::1');
  t.is(formatIPv6([1, 0, 2, 0, 3, 0, 4, 0]), '1:0:2:0:3:0:4:0');
  t.is(formatIPv6([1, 0, 0, 1, 0, 0, 0, 1]), '1:0:0:1::1');
  t.is(formatIPv6([1, 0, 0, 1, 0, 0, 1, 1]), '1::1:0:0:1:1');
  t.is(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0]), '::');
});

test('a service range address with an IPv4 tail counts from its network as its hex spelling does', (t) => {
  t.is(ipv6ToBigInt('fd00:10:96::1.2.3.4') - ipv6ToBigInt('fd00:10:96::'), 0x01020304n);
  t.is(ipv6ToBigInt('fd00:10:96::1.2.3.4'), ipv6ToBigInt('fd00:10:96::102:304'));
});
