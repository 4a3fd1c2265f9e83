import test from 'ava';
import { fileURLToPath } from 'node:url';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

const rootTest = isRoot ? test.serial : test.skip;
const loader = fileURLToPath(new URL('./load-table.ts', import.meta.url));

// A cold load hands elements to the kernel through netlink, past nft's
// parser: the table must list exactly as when nft parsed the same elements,
// for every kind of set and map (verdicts, concatenations of addresses,
// protocols, ports and numgen slots, each protocol's endpoint maps), in the
// IPv4 table and in the IPv6 one (16-byte addresses in the concatenations).
for (const [family, table, sctpEndpoint] of [[4, 'ip', /10\.180\.0\.7 \. 9000/], [6, 'ip6', /fd00:10:180:0::7 \. 9000|fd00:10:180::7 \. 9000/]] as const) {
  rootTest(`IPv${family}: elements added through netlink list the same as elements added by nft`, async (t) => {
    const fixture = new NetnsFixture(t);
    const listings: string[] = [];
    for (const how of ['text', 'cold']) {
      const ns = await fixture.add(`${how}${family}`);
      const r = await fixture.exec(ns, process.execPath, ['--import', 'tsx', loader, how, String(family)], { allowFailure: true });
      t.is(r.code, 0, r.stderr);
      listings.push((await fixture.exec(ns, NFT_BINARY, ['list', 'table', table, 'ferry'])).stdout);
    }
    t.regex(listings[0]!, sctpEndpoint, 'the fixture reached the sctp endpoint map');
    t.regex(listings[0]!, /goto external-local-1-of-2/);
    t.is(listings[1], listings[0]);
  });
}
