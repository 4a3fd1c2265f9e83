import test from 'ava';
import { fileURLToPath } from 'node:url';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';

// NfacctNetlink against the kernel, in a throwaway namespace: accounting
// objects are per network namespace, so nothing here reaches the machine's
// own. The iptables `nfacct` match refuses a name with no object (ENOENT),
// counts into one once it exists, and a second ensure keeps the counts.
const rootTest = isRoot ? test : test.skip;
const driver = fileURLToPath(new URL('./nfacct-driver.ts', import.meta.url));

rootTest('nfacct objects are created once, counted into by the iptables nfacct match, and stay in their namespace', async (t) => {
  const f = new NetnsFixture(t);
  const ns = await f.add('nfacct');
  const name = `fytest_${f.id.replace('-', '_')}`;
  const run = async (op: 'ensure' | 'get', where?: string) => {
    const args = ['--import', 'tsx', driver, op, name];
    const r = where ? await f.exec(where, process.execPath, args) : await execFile(process.execPath, args);
    return JSON.parse(r.stdout) as { name: string; packets: number; bytes: number } | null;
  };
  const match = ['-w', '5', '-A', 'OUTPUT', '-o', 'lo', '-p', 'icmp', '-m', 'nfacct', '--nfacct-name', name];

  t.is(await run('get', ns), null, 'a fresh namespace has no object of that name');
  const refused = await f.exec(ns, 'iptables-nft', match, { allowFailure: true });
  t.not(refused.code, 0, 'the nfacct match needs its object to exist');
  t.regex(refused.stderr, /No such file or directory/);

  t.deepEqual(await run('ensure', ns), { name, packets: 0, bytes: 0 });
  await f.exec(ns, 'iptables-nft', match);
  await f.exec(ns, 'ping', ['-c', '3', '-i', '0.2', '-q', '127.0.0.1']);
  const counted = await run('ensure', ns);
  t.is(counted?.packets, 6, 'three echo requests and three replies went out on lo');
  t.is(counted?.bytes, 6 * 84);
  t.deepEqual(await run('get', ns), counted, 'a second ensure kept the counts');
  t.is(await run('get'), null, "the machine's own namespace has no such object");
});
