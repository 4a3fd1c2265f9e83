/**
 * `ferry dns -conf Corefile` end to end, checked with dig: kubeadm's
 * default Corefile answers as today's flags do; a `hosts` block and
 * `rewrite name` rules work; `reload` takes an edit within its interval and
 * keeps the old configuration serving when an edit is broken.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../../src/util/free-port.ts';
import { fakeUpstream } from '../../unit/dns/fake-upstream.ts';
import { dig, populateWebAndHeadless, startCluster, startFerryDns, startFerryDnsConf, waitFor, type Teardown } from './harness.ts';



const startConf = (t: Teardown, url: string, file: string) => startFerryDnsConf(t, file, { url });

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-corefile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** kubeadmFor points kubeadm's Corefile at test ports and a resolv.conf of our own; every plugin stays. */
function kubeadmFor(corefile: string, port: number, resolvConf: string): string {
  return corefile.replace('.:53 {', `.:${port} {\n    bind 127.0.0.1`)
    .replace('health {', 'health 127.0.0.1:0 {')
    .replace(/^(\s*)ready$/m, '$1ready 127.0.0.1:0')
    .replace('prometheus :9153', 'prometheus 127.0.0.1:0')
    .replace('/etc/resolv.conf', resolvConf);
}

const sorted = (r: { status: string; answer: string[]; authority: string[]; additional: string[] }) => ({ ...r, answer: [...r.answer].sort(), additional: [...r.additional].sort() });

for (const fixture of ['kubeadm.Corefile', 'kubeadm-nocache-cluster.Corefile']) test(`${fixture}, kubeadm's default, answers as today's flags do`, async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n'); // port 53 on loopback: nothing answers, as --upstream 127.0.0.1:9 below
  const file = join(dir, 'Corefile');
  writeFileSync(file, kubeadmFor(readFileSync(resolve(import.meta.dirname, '../../fixtures/coredns', fixture), 'utf8'), await freePort(), join(dir, 'resolv.conf')));
  const viaConf = await startConf(t, c.url, file);
  const viaFlags = await startFerryDns(t, c.url, ['--ttl', '30']);
  const questions = [
    ['web.testns.svc.cluster.local', 'A'], ['hdls.testns.svc.cluster.local', 'A'], ['_http._tcp.web.testns.svc.cluster.local', 'SRV'],
    ['db-0.hdls.testns.svc.cluster.local', 'A'], ['nope.testns.svc.cluster.local', 'A'], ['web.testns.svc.cluster.local', 'AAAA'],
    ['1.100.96.10.in-addr.arpa', 'PTR'], ['10-1-2-3.testns.pod.cluster.local', 'A'], ['dns-version.cluster.local', 'TXT'],
  ];
  for (const q of questions) {
    const want = sorted(await dig(viaFlags.port, q));
    t.not(want.status, '', `${q.join(' ')} answered`);
    t.deepEqual(sorted(await dig(viaConf.port, q)), want, q.join(' '));
  }
});

test('a hosts block (inline and file, fallthrough) and rewrite name rules answer with the names asked', async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hosts'), '10.9.9.9 files.example.com\n');
  const file = join(dir, 'Corefile');
  writeFileSync(file, `.:${await freePort()} {
    bind 127.0.0.1
    ready 127.0.0.1:0
    rewrite name exact www.corp.test web.testns.svc.cluster.local
    rewrite name suffix .legacy.test .testns.svc.cluster.local
    hosts ${join(dir, 'hosts')} {
        10.1.2.3 inline.example.com
        fallthrough
    }
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        ttl 30
    }
    forward . 127.0.0.1:9
}
`);
  const dns = await startConf(t, c.url, file);
  t.deepEqual((await dig(dns.port, ['inline.example.com', 'A'])).answer, ['inline.example.com. 3600 IN A 10.1.2.3']);
  t.deepEqual((await dig(dns.port, ['files.example.com', 'A'])).answer, ['files.example.com. 3600 IN A 10.9.9.9']);
  t.deepEqual((await dig(dns.port, ['3.2.1.10.in-addr.arpa', 'PTR'])).answer, ['3.2.1.10.in-addr.arpa. 3600 IN PTR inline.example.com.']);
  t.is((await dig(dns.port, ['inline.example.com', 'AAAA'])).status, 'NOERROR', 'a known name without that type is NODATA');
  t.deepEqual((await dig(dns.port, ['web.testns.svc.cluster.local', 'A'])).answer, ['web.testns.svc.cluster.local. 30 IN A 10.96.100.1'], 'fallthrough reaches kubernetes');
  t.deepEqual((await dig(dns.port, ['www.corp.test', 'A'])).answer, ['www.corp.test. 30 IN A 10.96.100.1']);
  const hdls = await dig(dns.port, ['hdls.legacy.test', 'A']);
  t.deepEqual([...hdls.answer].sort(), ['hdls.legacy.test. 30 IN A 172.16.0.10', 'hdls.legacy.test. 30 IN A 172.16.0.11']);
  const srv = await dig(dns.port, ['_http._tcp.web.legacy.test', 'SRV']);
  t.deepEqual(srv.answer, ['_http._tcp.web.legacy.test. 30 IN SRV 0 100 80 web.legacy.test.'], 'answer names the rule produced are mapped back');
  t.is((await dig(dns.port, ['nope.legacy.test', 'A'])).status, 'NXDOMAIN');
  // The hosts file is read again when it changes (hosts' own reload, 5 s by default).
  writeFileSync(join(dir, 'hosts'), '10.9.9.10 files.example.com\n');
  await waitFor(async () => (await dig(dns.port, ['files.example.com', 'A'])).answer[0]?.endsWith('10.9.9.10') === true, 12_000, 'the edited hosts file');
  t.pass();
});

test('reload: an edit takes effect within the interval; a broken edit keeps the old configuration serving and says why', async (t) => {
  const c = await startCluster(t);
  const dir = tempDir(t);
  const file = join(dir, 'Corefile');
  const port = await freePort();
  const corefile = (address: string, extra = '') => `.:${port} {
    bind 127.0.0.1
    ready 127.0.0.1:0
    reload 2s
    hosts {
        ${address} app.example.com
    }
    kubernetes cluster.local
${extra}}
`;
  writeFileSync(file, corefile('10.0.0.1'));
  const dns = await startConf(t, c.url, file);
  t.deepEqual((await dig(dns.port, ['app.example.com', 'A'])).answer, ['app.example.com. 3600 IN A 10.0.0.1']);
  writeFileSync(file, corefile('10.0.0.2'));
  const took = await waitFor(async () => (await dig(dns.port, ['app.example.com', 'A'])).answer[0]?.endsWith('10.0.0.2') === true, 8000, 'the reloaded Corefile');
  t.true(took < 8000);
  writeFileSync(file, corefile('10.0.0.3', '    frobnicate\n'));
  await waitFor(() => /Corefile reload failed/.test(dns.log()), 8000, 'the reload error');
  t.regex(dns.log(), /Corefile reload failed: keeping the running configuration.*Unknown directive 'frobnicate'/);
  t.deepEqual((await dig(dns.port, ['app.example.com', 'A'])).answer, ['app.example.com. 3600 IN A 10.0.0.2'], 'the old configuration still serves');
  void c;
});

test('several server blocks on their own ports, and health { lameduck } serving on after SIGTERM', async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const dir = tempDir(t);
  const [p1, p2] = [await freePort(), await freePort()];
  const file = join(dir, 'Corefile');
  writeFileSync(file, `cluster.local:${p1} {
    bind 127.0.0.1
    ready 127.0.0.1:0
    health 127.0.0.1:0 {
        lameduck 1500ms
    }
    kubernetes cluster.local
}
example.test:${p2} {
    bind 127.0.0.1
    hosts {
        10.7.7.7 www.example.test
    }
}
`);
  const dns = await startConf(t, c.url, file);
  t.is((await dig(p1, ['web.testns.svc.cluster.local', 'A'])).answer[0], 'web.testns.svc.cluster.local. 5 IN A 10.96.100.1');
  t.is((await dig(p1, ['www.example.test', 'A'])).status, 'REFUSED', 'outside the first block\'s zone');
  t.deepEqual((await dig(p2, ['www.example.test', 'A'])).answer, ['www.example.test. 3600 IN A 10.7.7.7']);
  t.is((await dig(p2, ['web.testns.svc.cluster.local', 'A'])).status, 'REFUSED');
  const stopped = Date.now();
  dns.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  t.is((await dig(p1, ['web.testns.svc.cluster.local', 'A'])).status, 'NOERROR', 'still serving in lameduck');
  await waitFor(() => dns.exited(), 10_000, 'exit');
  t.true(Date.now() - stopped >= 1400, 'exited after the lameduck duration');
  t.regex(dns.log(), /Going into lameduck mode/);
});

test('a Corefile without kubernetes needs no apiserver: ready at once, answering from hosts', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'Corefile');
  writeFileSync(file, `.:${await freePort()} {\n    bind 127.0.0.1\n    ready 127.0.0.1:0\n    hosts {\n        10.0.0.9 only.example.com\n    }\n}\n`);
  const dns = await startConf(t, 'http://127.0.0.1:1', file);
  t.deepEqual((await dig(dns.port, ['only.example.com', 'A'])).answer, ['only.example.com. 3600 IN A 10.0.0.9']);
  t.is((await dig(dns.port, ['other.example.com', 'A'])).status, 'SERVFAIL', 'hosts without fallthrough, as CoreDNS');
});

test('server blocks sharing a port: each query goes to the block of the most specific zone', async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const dir = tempDir(t);
  const port = await freePort();
  const file = join(dir, 'Corefile');
  writeFileSync(file, `corp.test:${port} {
    bind 127.0.0.1
    hosts {
        10.8.8.8 db.corp.test
    }
}
.:${port} {
    bind 127.0.0.1
    ready 127.0.0.1:0
    kubernetes cluster.local
    hosts {
        10.9.9.9 db.corp.test
        fallthrough
    }
}
`);
  const dns = await startConf(t, c.url, file);
  t.deepEqual((await dig(dns.port, ['db.corp.test', 'A'])).answer, ['db.corp.test. 3600 IN A 10.8.8.8'], 'corp.test. is more specific than .');
  t.is((await dig(dns.port, ['web.testns.svc.cluster.local', 'A'])).answer[0], 'web.testns.svc.cluster.local. 5 IN A 10.96.100.1');
  t.is((await dig(dns.port, ['other.corp.test', 'A'])).status, 'SERVFAIL', "the corp.test block's hosts has no fallthrough");
  t.is((await dig(dns.port, ['web.testns.svc.cluster.local', 'A', '+tcp'])).status, 'NOERROR', 'TCP too');
});

test('reload: an edit that cannot start (its port is taken) restores the running configuration', async (t) => {
  const c = await startCluster(t);
  const dir = tempDir(t);
  const file = join(dir, 'Corefile');
  const [port, taken] = [await freePort(), await freePort()];
  const { createServer } = await import('node:net');
  const holder = createServer();
  await new Promise<void>((ok) => holder.listen(taken, '127.0.0.1', () => ok()));
  t.teardown(() => holder.close());
  const corefile = (p: number, address: string) => `.:${p} {\n    bind 127.0.0.1\n    ready 127.0.0.1:0\n    reload 2s\n    hosts {\n        ${address} app.example.com\n    }\n    kubernetes cluster.local\n}\n`;
  writeFileSync(file, corefile(port, '10.0.0.1'));
  const dns = await startConf(t, c.url, file);
  writeFileSync(file, corefile(taken, '10.0.0.2'));
  await waitFor(() => /restoring the previous configuration/.test(dns.log()), 8000, 'the failed start');
  await waitFor(async () => (await dig(dns.port, ['app.example.com', 'A'])).answer[0]?.endsWith('10.0.0.1') === true, 5000, 'the restored configuration');
  t.regex(dns.log(), /Corefile reload failed to start: restoring the previous configuration.*EADDRINUSE/);
  t.true(dns.exited() === false);
});

test('a reverse zone given to kubernetes without fallthrough is authoritative: dig -x of an unknown address is NXDOMAIN with its SOA', async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const dir = tempDir(t);
  const file = join(dir, 'Corefile');
  const port = await freePort();
  // Upstream 127.0.0.1:9 answers nothing: a passed-on query is SERVFAIL.
  writeFileSync(file, `.:${port} {\n    bind 127.0.0.1\n    ready 127.0.0.1:0\n    kubernetes cluster.local 96.10.in-addr.arpa\n    forward . 127.0.0.1:9\n}\n`);
  const dns = await startConf(t, c.url, file);
  t.deepEqual((await dig(dns.port, ['-x', '10.96.100.1'])).answer, ['1.100.96.10.in-addr.arpa. 5 IN PTR web.testns.svc.cluster.local.']);
  const unknown = await dig(dns.port, ['-x', '10.96.9.9']);
  t.is(unknown.status, 'NXDOMAIN');
  t.true(unknown.flags.includes('aa'), 'authoritative');
  t.deepEqual(unknown.authority, ['96.10.in-addr.arpa. 5 IN SOA ns.dns.96.10.in-addr.arpa. hostmaster.96.10.in-addr.arpa. S 7200 1800 86400 5']);
  t.is((await dig(dns.port, ['-x', '172.16.0.10'])).status, 'SERVFAIL', 'outside the listed reverse zone: passed on to forward');
});

test('with fallthrough for its reverse zone, dig -x of an unknown address reaches the upstream; known addresses are answered', async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const upstream = await fakeUpstream(t, 60); // answers every question with A 192.0.2.1: a sign the query got there
  const dir = tempDir(t);
  const file = join(dir, 'Corefile');
  const port = await freePort();
  writeFileSync(file, `.:${port} {\n    bind 127.0.0.1\n    ready 127.0.0.1:0\n    kubernetes cluster.local 96.10.in-addr.arpa {\n        fallthrough 96.10.in-addr.arpa\n    }\n    forward . 127.0.0.1:${upstream.port}\n}\n`);
  const dns = await startConf(t, c.url, file);
  t.deepEqual((await dig(dns.port, ['-x', '10.96.100.1'])).answer, ['1.100.96.10.in-addr.arpa. 5 IN PTR web.testns.svc.cluster.local.']);
  t.is(upstream.queries, 0);
  const unknown = await dig(dns.port, ['-x', '10.96.9.9']);
  t.like(unknown, { status: 'NOERROR', answer: ['9.9.96.10.in-addr.arpa. 60 IN A 192.0.2.1'], authority: [] });
  t.is(upstream.queries, 1);
});
