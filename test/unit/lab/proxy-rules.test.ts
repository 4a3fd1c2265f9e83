import test from 'ava';
import { readFileSync } from 'node:fs';
import { countNftTable, isMissingTable, ruleDumps } from '../../../src/lab/cluster/proxy-rules.ts';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';

/**
 * `ferry status` counts of an nftables lab's table, read from a listing
 * captured with `nft -j list table ip ferry` (nft 1.0.6) after loading
 * test/fixtures/nftables/small-table.nft with `nft -f` in a scratch namespace:
 * a verdict map of 3, an empty map, a set of 2, an endpoints map of 3, a
 * dynamic set holding 1 element with a timeout and an interval set of 1;
 * 6 chains (one empty), 5 rules.
 */
const captured = readFileSync(new URL('../../fixtures/nftables/small-table.json', import.meta.url), 'utf8');
const doc = JSON.parse(captured) as { nftables: Array<Record<string, Record<string, unknown>>> };
const listing = (objects: unknown[]) => JSON.stringify({ nftables: objects });

const cases: Array<{ name: string; listing: string; want: ReturnType<typeof countNftTable> }> = [
  { name: 'the captured listing', listing: captured, want: { sets: 6, elements: 10, chains: 6, rules: 5 } },
  { name: 'a table with nothing in it', listing: listing(doc.nftables.slice(0, 2)), want: { sets: 0, elements: 0, chains: 0, rules: 0 } },
  {
    // As in `nft -j list ruleset`: other tables' objects are not the proxy's.
    name: 'objects of other tables are not counted',
    listing: listing([...doc.nftables, { set: { family: 'ip', table: 'filter', name: 'x', elem: ['10.0.0.1'] } }, { rule: { family: 'ip6', table: 'ferry', chain: 'c' } }, { chain: { family: 'inet', table: 'ferry', name: 'c' } }]),
    want: { sets: 6, elements: 10, chains: 6, rules: 5 },
  },
  { name: 'a lone element that is not in an array counts as one', listing: listing([{ set: { family: 'ip', table: 'ferry', name: 's', elem: '10.0.0.1' } }]), want: { sets: 1, elements: 1, chains: 0, rules: 0 } },
];
for (const tc of cases) test(`countNftTable: ${tc.name}`, (t) => t.deepEqual(countNftTable(tc.listing), tc.want));

test('countNftTable: text that is not an nft JSON listing is an error, not zero', (t) => {
  t.throws(() => countNftTable(''), { code: 'FERRY_ERR_LAB_RULES' });
  t.throws(() => countNftTable('table ip ferry {\n}'), { code: 'FERRY_ERR_LAB_RULES' });
  t.throws(() => countNftTable('{"tables":[]}'), { code: 'FERRY_ERR_LAB_RULES' });
  t.throws(() => countNftTable('null'), { code: 'FERRY_ERR_LAB_RULES' });
});

test('isMissingTable tells a table that does not exist from nft failing', (t) => {
  // nft 1.0.6's stderr for `nft -j list table ip ferry` in a namespace without the table.
  t.true(isMissingTable('Error: No such file or directory\nlist table ip ferry\n              ^^^^^\n'));
  t.false(isMissingTable('Error: Could not process rule: Operation not permitted\n'));
  t.false(isMissingTable(''));
});

test('ruleDumps: the nftables mode shows its own table only; ipvs adds virtual servers to legacy iptables', (t) => {
  const show = (mode: Parameters<typeof ruleDumps>[0]) => ruleDumps(mode).map((d) => [d.what, d.file, ...d.args].join(' '));
  t.deepEqual(show('nftables'), [`nftables ${NFT_BINARY} list table ip ferry`]);
  t.deepEqual(show('iptables'), ['iptables iptables-save']);
  t.deepEqual(show('userspace'), ['iptables iptables-save']);
  t.deepEqual(show('ipvs'), ['iptables iptables-legacy-save', 'ipvs ipvsadm -Ln']);
});
