import test from 'ava';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NFT_BINARY } from '../../../src/nftables/binary.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';
import { endpoint, ProxyDriver, proxyConfig, service } from './harness.ts';

// `ferry proxy --cleanup` removes what every mode left, whatever --mode says,
// as kube-proxy's does: rules of the iptables mode in both backends, the
// userspace mode's portal chains, ipsets of the IPVS mode (IPVS itself is not
// in this kernel; its cleanup is tested under UML) and the nftables table;
// and the IPv6 iptables proxier's chains (ip6tables) in both backends.
const ferryBin = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const rootTest = isRoot ? test.serial : test.skip;
const runnerModule = fileURLToPath(new URL('../../../src/iptables/runner.ts', import.meta.url));

rootTest('ferry proxy --cleanup leaves no KUBE- chain in either backend or family, no KUBE- ipset and no nftables table', async (t) => {
  const fixture = new NetnsFixture(t);
  const ns = await fixture.add('node');
  const web = service('web', '172.30.0.10', { type: 'NodePort', nodePort: 30080 });
  for (const mode of ['iptables-nft', 'iptables-legacy', 'nftables', 'userspace'] as const) {
    const driver = new ProxyDriver(t, ns, proxyConfig(mode, mode === 'userspace' ? { iptablesBackend: 'legacy' } : {}));
    await driver.sync([web], { [web.key]: [endpoint('10.244.1.10')] });
  }
  // What a dual-stack node's IPv6 proxier leaves: its chains and the jumps into them.
  for (const bin of ['ip6tables-nft', 'ip6tables-legacy']) {
    await fixture.exec(ns, bin, ['-t', 'nat', '-N', 'KUBE-SERVICES']);
    await fixture.exec(ns, bin, ['-t', 'nat', '-N', 'KUBE-SVC-AAAABBBBCCCCDDDD']);
    await fixture.exec(ns, bin, ['-t', 'nat', '-A', 'KUBE-SERVICES', '-d', 'fd00:172:30::41/128', '-j', 'KUBE-SVC-AAAABBBBCCCCDDDD']);
    await fixture.exec(ns, bin, ['-t', 'nat', '-A', 'PREROUTING', '-j', 'KUBE-SERVICES']);
    await fixture.exec(ns, bin, ['-t', 'filter', '-N', 'KUBE-FORWARD']);
    await fixture.exec(ns, bin, ['-t', 'filter', '-A', 'FORWARD', '-j', 'KUBE-FORWARD']);
  }
  await fixture.exec(ns, 'ip6tables-nft', ['-A', 'INPUT', '-s', 'fd99::/64', '-j', 'ACCEPT']);
  // The IPVS mode's ipsets (IPVS itself is not in this kernel).
  await fixture.exec(ns, 'ipset', ['create', 'KUBE-CLUSTER-IP', 'hash:ip,port']);
  // Someone else's rules stay.
  await fixture.exec(ns, 'iptables-legacy', ['-A', 'INPUT', '-s', '10.99.0.0/16', '-j', 'ACCEPT']);
  await fixture.exec(ns, NFT_BINARY, ['add', 'table', 'ip', 'theirs']);

  const dump = async () => [
    (await fixture.exec(ns, 'iptables-nft-save', [])).stdout,
    (await fixture.exec(ns, 'iptables-legacy-save', [])).stdout,
    (await fixture.exec(ns, 'ip6tables-nft-save', [])).stdout,
    (await fixture.exec(ns, 'ip6tables-legacy-save', [])).stdout,
    (await fixture.exec(ns, 'ipset', ['list', '-n'])).stdout,
    (await fixture.exec(ns, NFT_BINARY, ['list', 'tables'])).stdout,
  ].join('\n');
  const before = await dump();
  t.regex(before, /KUBE-SVC-[\s\S]*KUBE-SVC-/, 'both backends hold service chains');
  t.regex(before, /KUBE-PORTALS-CONTAINER/, 'the userspace mode wrote its portals');
  t.regex(before, /table ip ferry/);

  const r = await fixture.exec(ns, ferryBin, ['proxy', '--cleanup'], { allowFailure: true });
  t.is(r.code, 0, r.stderr);
  const after = await dump();
  t.notRegex(after, /KUBE-/);
  t.notRegex(after, /table ip ferry/);
  t.regex(after, /-A INPUT -s 10\.99\.0\.0\/16 -j ACCEPT/);
  t.regex(after, /-A INPUT -s fd99::\/64 -j ACCEPT/);
  t.regex(after, /table ip theirs/);
  // Safe on a clean node, and twice.
  t.is((await fixture.exec(ns, ferryBin, ['proxy', '--cleanup'], { allowFailure: true })).code, 0);
});

/** The iptables tools the cleanup may probe, each wrapped to log how it was called and then run. */
const WRAPPED = ['iptables', 'iptables-nft', 'iptables-legacy', 'ip6tables-nft', 'ip6tables-legacy', 'iptables-nft-save', 'iptables-legacy-save', 'ip6tables-nft-save', 'ip6tables-legacy-save'];

rootTest('ferry proxy --cleanup runs no iptables --version and reads each backend\'s ip6tables once to probe it, and still cleans both families', async (t) => {
  const fixture = new NetnsFixture(t);
  const ns = await fixture.add('node');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-cleanup-probes-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  for (const tool of WRAPPED) {
    await writeFile(join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> ${log}\nexec /usr/sbin/${tool} "$@"\n`);
    await chmod(join(dir, tool), 0o755);
  }
  for (const bin of ['ip6tables-nft', 'ip6tables-legacy']) {
    await fixture.exec(ns, bin, ['-t', 'nat', '-N', 'KUBE-SERVICES']);
    await fixture.exec(ns, bin, ['-t', 'nat', '-A', 'OUTPUT', '-j', 'KUBE-SERVICES']);
  }

  const r = await fixture.exec(ns, ferryBin, ['proxy', '--cleanup'], { allowFailure: true, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` } });
  t.is(r.code, 0, r.stderr);
  for (const bin of ['ip6tables-nft-save', 'ip6tables-legacy-save']) t.notRegex((await fixture.exec(ns, bin, [])).stdout, /KUBE-/, bin);

  const calls = (await readFile(log, 'utf8')).trim().split('\n');
  const count = (line: string) => calls.filter((c) => c === line).length;
  t.deepEqual(calls.filter((c) => / (--version|-V)$/.test(c)), [], 'no version probe: removing rules does not depend on the version');
  for (const backend of ['nft', 'legacy']) {
    const save = `ip6tables-${backend}-save -t`;
    // The iptables and IPVS modes' cleanups each read every IPv6 table once; the probe reads nat once more.
    t.true(count(`${save} filter`) > 0, `${backend}: the IPv6 tables were cleaned`);
    t.is(count(`${save} nat`), count(`${save} filter`) + 1, `${backend}: one probe of ip6tables`);
  }
});

rootTest('the default iptables backend is the one where kubelet made its chains, as kube-proxy\'s image chooses', async (t) => {
  const fixture = new NetnsFixture(t);
  const ns = await fixture.add('node');
  const detect = async () => (await fixture.exec(ns, process.execPath, ['--import', 'tsx', '-e', `import('${runnerModule}').then((m) => m.detectBackend()).then((b) => process.stdout.write(b))`])).stdout;
  t.is(await detect(), 'nft', 'a clean node: what iptables points to (Debian: nft)');
  await fixture.exec(ns, 'iptables-legacy', ['-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);
  t.is(await detect(), 'legacy', 'kubelet hinted legacy');
  await fixture.exec(ns, 'iptables-nft', ['-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY']);
  t.is(await detect(), 'nft', 'kubelet chains in nft win, as the wrapper checks nft first');
});

rootTest('a proxy starting in nftables mode removes the iptables-based modes\' chains, one starting in iptables mode the nftables table (kube-proxy\'s platformCleanup), others\' rules stay', async (t) => {
  const fixture = new NetnsFixture(t);
  const ns = await fixture.add('node');
  const web = service('web', '172.30.0.10');
  const until = async (what: string, done: () => Promise<boolean>) => {
    for (let end = Date.now() + 20_000; !(await done()); await new Promise((r) => setTimeout(r, 100))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  };
  const iptablesRules = async () => (await fixture.exec(ns, 'iptables-nft-save', [])).stdout + (await fixture.exec(ns, 'iptables-legacy-save', [])).stdout;
  const tables = async () => (await fixture.exec(ns, NFT_BINARY, ['list', 'tables'])).stdout;
  await fixture.exec(ns, NFT_BINARY, ['add', 'table', 'ip', 'theirs']);
  // A proxy that cannot reach any apiserver: only what it does before it syncs shows.
  const start = (mode: string) => fixture.spawn(ns, ferryBin, ['proxy', '--mode', mode, '--server', 'unix:///nonexistent/ferry.sock', '--healthz-bind-address=', '--metrics-bind-address=']);

  for (const mode of ['iptables-nft', 'iptables-legacy'] as const) await new ProxyDriver(t, ns, proxyConfig(mode)).sync([web], { [web.key]: [endpoint('10.244.1.10')] });
  t.regex(await iptablesRules(), /KUBE-SVC-[\s\S]*KUBE-SVC-/);
  const nft = start('nftables');
  await until('the iptables chains to go', async () => !/KUBE-/.test(await iptablesRules()));
  nft.kill('SIGTERM');

  await new ProxyDriver(t, ns, proxyConfig('nftables')).sync([web], { [web.key]: [endpoint('10.244.1.10')] });
  t.regex(await tables(), /table ip ferry/);
  const ipt = start('iptables');
  await until('the nftables table to go', async () => !/table ip ferry/.test(await tables()));
  ipt.kill('SIGTERM');
  t.regex(await tables(), /table ip theirs/);
});
