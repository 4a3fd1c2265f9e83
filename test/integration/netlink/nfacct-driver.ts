import { NfacctNetlink } from '../../../src/netlink/nfacct.ts';

// Runs nfacct operations in the network namespace it is started in (tests
// start it with `ip netns exec`): `ensure NAME` or `get NAME`, printing the
// object's counters as JSON (null when there is none).
async function main(): Promise<void> {
  const [op, name] = process.argv.slice(2);
  if ((op !== 'ensure' && op !== 'get') || !name) throw new Error('usage: nfacct-driver ensure|get NAME');
  const nfacct = NfacctNetlink.open();
  try {
    if (op === 'ensure') await nfacct.ensure(name);
    process.stdout.write(`${JSON.stringify((await nfacct.get(name)) ?? null)}\n`);
  } finally {
    nfacct.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
