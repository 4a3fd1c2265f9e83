import test from 'ava';
import { fileURLToPath } from 'node:url';
import { countNftTable, isMissingTable, NFT_LIST_JSON } from '../../../src/lab/cluster/proxy-rules.ts';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

/**
 * `ferry status`'s nftables counts against the real nft: the table the unit
 * test's captured listing came from, loaded in a scratch namespace and listed
 * live, counts the same; once deleted, nft's error reads as a missing table.
 */
const table = fileURLToPath(new URL('../../fixtures/nftables/small-table.nft', import.meta.url));

(isRoot ? test : test.skip)('countNftTable counts a live nft -j listing; a deleted table reads as missing', async (t) => {
  const fx = new NetnsFixture(t);
  const ns = await fx.add('nft');
  await fx.exec(ns, NFT_BINARY, ['-f', table]);
  const listed = await fx.exec(ns, NFT_BINARY, [...NFT_LIST_JSON]);
  t.deepEqual(countNftTable(listed.stdout), { sets: 6, elements: 10, chains: 6, rules: 5 });
  await fx.exec(ns, NFT_BINARY, ['add', 'element', 'ip', 'ferry', 'cluster-ips', '{ 10.96.0.20, 10.96.0.21 }']);
  await fx.exec(ns, NFT_BINARY, ['add', 'rule', 'ip', 'ferry', 'reject-chain', 'reject']);
  t.like(countNftTable((await fx.exec(ns, NFT_BINARY, [...NFT_LIST_JSON])).stdout), { elements: 12, rules: 6 });
  await fx.exec(ns, NFT_BINARY, ['delete', 'table', 'ip', 'ferry']);
  const missing = await fx.exec(ns, NFT_BINARY, [...NFT_LIST_JSON], { allowFailure: true });
  t.not(missing.code, 0);
  t.true(isMissingTable(missing.stderr), missing.stderr);
});
