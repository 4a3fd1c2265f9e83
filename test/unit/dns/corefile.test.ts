import test from 'ava';
import { readFileSync } from 'node:fs';
import { corefileFromFlags } from '../../../src/cli/commands/dns.ts';
import { parseCorefile, substituteEnv } from '../../../src/dns/corefile/parse.ts';
import { serverConfig } from '../../../src/dns/corefile/plugins.ts';
import { loadCorefile } from '../../../src/dns/corefile/runner.ts';
import { rewriteName } from '../../../src/dns/corefile/rewrite.ts';
import { parseHostsFile } from '../../../src/dns/corefile/hosts.ts';

// The Corefile: syntax, the plugins of kubeadm's default one, and the
// errors for what ferry does not carry out.

const KUBEADM = readFileSync(new URL('../../fixtures/coredns/kubeadm.Corefile', import.meta.url), 'utf8');

test("kubeadm's default Corefile reads into one server with every plugin's settings", (t) => {
  const [c, ...rest] = loadCorefile(KUBEADM);
  t.is(rest.length, 0);
  t.like(c, {
    zones: ['.'], port: 53, bind: [], errors: true, loop: true, loadbalance: true, log: false, cache: { successTtl: 30, denialTtl: 30, capacity: 19968 },
    health: { address: ':8080', lameduckMs: 5000 }, ready: ':8181', prometheus: ':9153',
    kubernetes: { zone: 'cluster.local', podMode: 'insecure', ttl: 30, reverseZones: ['in-addr.arpa', 'ip6.arpa'], fallthrough: ['in-addr.arpa.', 'ip6.arpa.'], namespaces: [], noEndpoints: false },
    forward: { to: ['/etc/resolv.conf'], maxConcurrent: 1000, policy: 'random' },
    reload: { intervalMs: 30_000, jitterMs: 15_000 },
  });
});

test("newer kubeadm's (and kind's) Corefile, which disables caching cluster.local, reads the same but for the cache block", (t) => {
  const newer = readFileSync(new URL('../../fixtures/coredns/kubeadm-nocache-cluster.Corefile', import.meta.url), 'utf8');
  const [c] = loadCorefile(newer);
  const [old] = loadCorefile(KUBEADM);
  t.deepEqual({ ...c, cache: undefined }, { ...old, cache: undefined });
  t.deepEqual(c!.cache, { capacity: 19968, successTtl: 30, denialTtl: 30, minTtl: undefined, disabledZones: ['cluster.local.', 'cluster.local.'] });
  const tuned = loadCorefile('.:53 {\n  kubernetes cluster.local\n  cache {\n    success 5000 600 10\n    denial 100 60\n  }\n}\n')[0]!;
  t.deepEqual(tuned.cache, { capacity: 5100, successTtl: 600, denialTtl: 60, minTtl: 10, disabledZones: [] });
});

test('the flags are a shorthand for a Corefile of the same shape', (t) => {
  const text = corefileFromFlags({
    listen: { host: '127.0.0.1', port: 1053 }, zone: 'cluster.local', ttl: 30, pods: 'verified', upstream: ['10.0.0.10', '10.0.0.11:5353'],
    'health-bind-address': ':8080', 'ready-bind-address': '', 'metrics-bind-address': '127.0.0.1:9153',
  });
  const [c] = loadCorefile(text);
  t.like(c, {
    port: 1053, bind: ['127.0.0.1'], health: { address: ':8080', lameduckMs: 0 }, ready: undefined, prometheus: '127.0.0.1:9153', cache: { successTtl: 3600, denialTtl: 1800 },
    kubernetes: { zone: 'cluster.local', podMode: 'verified', ttl: 30 }, forward: { to: ['10.0.0.10', '10.0.0.11:5353'] },
  });
});

test('syntax: comments, quotes, env substitution, several blocks and keys, a brace-less single block', (t) => {
  const env = { ZONE: 'example.org', UPSTREAM: '9.9.9.9' };
  const blocks = parseCorefile(`# top comment
example.org:1053 example.net {$ZONE}:1053 {
    hosts {
        10.1.2.3 "a.example.org" # inline entry
        fallthrough
    }
    forward . {$UPSTREAM} {%UPSTREAM%}
}
.:1054 {
    rewrite name suffix .corp.internal .svc.cluster.local
}
`, env);
  t.is(blocks.length, 2);
  t.deepEqual(blocks[0]!.keys, [{ zone: 'example.org.', port: 1053 }, { zone: 'example.net.', port: 53 }, { zone: 'example.org.', port: 1053 }]);
  t.deepEqual(blocks[0]!.directives[0]!.block.map((d) => [d.name, ...d.args]), [['10.1.2.3', 'a.example.org'], ['fallthrough']]);
  t.deepEqual(blocks[0]!.directives[1]!.args, ['.', '9.9.9.9', '9.9.9.9']);
  t.deepEqual(blocks[1]!.directives[0]!.args, ['name', 'suffix', '.corp.internal', '.svc.cluster.local']);
  const [bare] = parseCorefile('.:5300\nerrors\nforward . 1.1.1.1\n');
  t.deepEqual(bare!.directives.map((d) => d.name), ['errors', 'forward']);
  t.is(substituteEnv('{$NOPE}x', {}), 'x');
});

const faults: Array<{ name: string; text: string; message: RegExp }> = [
  { name: 'unknown plugin', text: '.:53 {\n    errors\n    whoami\n}\n', message: /^Corefile:3 - Error during parsing: Unknown directive 'whoami'$/ },
  { name: 'unknown option', text: '.:53 {\n    forward . 1.1.1.1 {\n        force_tcp\n    }\n}\n', message: /Corefile:2 - Error during parsing: plugin\/forward: unknown property "force_tcp"/ },
  { name: 'option ferry does not implement', text: '.:53 {\n  kubernetes cluster.local {\n    kubeconfig /x\n  }\n}\n', message: /plugin\/kubernetes: unknown property "kubeconfig" \(not implemented by ferry\)/ },
  { name: 'missing brace', text: '.:53 {\n    errors\n', message: /missing }/ },
  { name: 'bad pods mode', text: '.:53 {\n  kubernetes cluster.local {\n    pods maybe\n  }\n}\n', message: /Corefile:3 - Error during parsing: plugin\/kubernetes: pods: want one of disabled, insecure, verified/ },
  { name: 'plugin twice', text: '.:53 {\n  cache 30\n  cache 60\n}\n', message: /Corefile:3 .*plugin\/cache: this plugin can only be used once per Server Block/ },
  { name: 'reload too often', text: '.:53 {\n  reload 1s\n}\n', message: /plugin\/reload: interval value must be greater or equal to 2s/ },
  { name: 'one zone twice on one port', text: 'a.org:53 {\n  errors\n}\na.org b.org:53 {\n  errors\n}\n', message: /cannot serve dns:\/\/a.org.:53 - it is already defined/ },
  { name: 'forward of a sub-zone', text: '.:53 {\n  forward example.org 1.1.1.1\n}\n', message: /plugin\/forward: forwarding only "example.org" is not implemented by ferry/ },
  { name: 'cache disable outside the cluster zone', text: '.:53 {\n  kubernetes cluster.local\n  cache 30 {\n    disable success example.com\n  }\n}\n', message: /Corefile:3 .*plugin\/cache: disable for example.com. is not implemented by ferry/ },
  { name: 'cache prefetch', text: '.:53 {\n  cache 30 {\n    prefetch 10\n  }\n}\n', message: /plugin\/cache: unknown property "prefetch" \(not implemented by ferry\)/ },
  { name: 'import', text: '.:53 {\n  import common\n}\n', message: /Corefile:2 .*import is not implemented by ferry/ },
];
for (const tc of faults) {
  test(`refused: ${tc.name}`, (t) => {
    t.throws(() => parseCorefile(tc.text).map((b) => serverConfig(b)) && loadCorefile(tc.text), { message: tc.message });
  });
}

test('rewrite name: exact and suffix rules, and the names mapped back', (t) => {
  const exact = rewriteName([{ match: 'exact', from: 'db.corp.', to: 'postgres.data.svc.cluster.local.' }], 'db.corp.');
  t.is(exact?.name, 'postgres.data.svc.cluster.local.');
  t.is(exact?.revert('postgres.data.svc.cluster.local'), 'db.corp');
  t.is(exact?.revert('other.example'), 'other.example');
  t.is(rewriteName([{ match: 'exact', from: 'db.corp.', to: 'x.' }], 'www.db.corp.'), undefined);
  const suffix = rewriteName([{ match: 'suffix', from: '.corp.internal.', to: '.svc.cluster.local.' }], 'web.default.corp.internal.');
  t.is(suffix?.name, 'web.default.svc.cluster.local.');
  t.is(suffix?.revert('api.default.svc.cluster.local'), 'api.default.corp.internal');
  const regex = rewriteName([{ match: 'regex', from: '^(.*)\\.legacy\\.$', to: '{1}.default.svc.cluster.local' }], 'web.legacy.');
  t.is(regex?.name, 'web.default.svc.cluster.local.');
});

test('hosts file lines: addresses, aliases, comments, zone index suffixes', (t) => {
  t.deepEqual(parseHostsFile('# c\n127.0.0.1 localhost\n10.0.0.5 db db.local # x\nfe80::1%eth0 link\nbogus line\n'), [
    { address: '127.0.0.1', names: ['localhost.'] },
    { address: '10.0.0.5', names: ['db.', 'db.local.'] },
    { address: 'fe80::1', names: ['link.'] },
  ]);
});
