import test from 'ava';
import { supportsRandomFully } from '../../../src/iptables/host-features.ts';
import { versionAtLeast } from '../../../src/util/version.ts';

test('versionAtLeast compares the first dotted version of a tool output part by part', (t) => {
  t.true(versionAtLeast('ipset v7.17, protocol version: 7', [6, 0]));
  t.true(versionAtLeast('ipset v6.0', [6, 0]));
  t.false(versionAtLeast('ipset v5.4.1', [6, 0]));
  t.true(versionAtLeast('v1.10.0', [1, 6, 2]), 'numerically, not as text');
  t.false(versionAtLeast('no version here', [1]));
});

test('--random-fully from iptables 1.6.2 on', (t) => {
  t.true(supportsRandomFully('iptables v1.8.9 (nf_tables)'));
  t.true(supportsRandomFully('iptables v1.6.2'));
  t.false(supportsRandomFully('iptables v1.6.1'));
  t.false(supportsRandomFully('iptables v1.6'));
  t.false(supportsRandomFully(''));
});
