/**
 * `ferry dns` answers as CoreDNS where it used to differ (issue 20), proved
 * with dig against the real command: a dual-stack Service's SRV has no
 * duplicates; the apex NS carries glue and its name resolves (the server
 * runs in a lab network namespace with a pod address, so it finds the DNS
 * Service it is an endpoint of, as CoreDNS does); and the SERVFAIL sent
 * before the informers sync carries the SOA.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import { addAddress, vethPair } from '../../../src/lab/netns.ts';
import { ApiClient } from '../../../src/client/api-client.ts';
import { isRoot, NetnsFixture } from '../../helpers/netns-fixture.ts';
import { clusterIPService, createNamespace, createService, createSlice, dig, parseDig, slice, startCluster, startFerryDns, waitFor } from './harness.ts';

const Z = 'cluster.local';
const FERRY = resolve(import.meta.dirname, '../../../bin/ferry');
const SOA = `${Z}. 30 IN SOA ns.dns.${Z}. hostmaster.${Z}. S 7200 1800 86400 30`;

test('dig: a dual-stack Service\'s SRV has one record per name and port, with A and AAAA glue', async (t) => {
  const c = await startCluster(t);
  await createNamespace(c, 'testns');
  // A dual-stack headless Service: one EndpointSlice per family, the pods' hostnames in both.
  await createService(c, clusterIPService('testns', 'db', [{ name: 'http', port: 80 }], { clusterIP: 'None', ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }));
  await createSlice(c, slice('testns', 'db', 'db-v4', [
    { addresses: ['172.16.0.10'], hostname: 'db-0', conditions: { ready: true } },
    { addresses: ['172.16.0.11'], hostname: 'db-1', conditions: { ready: true } },
  ], [{ name: 'http', port: 8080 }]));
  await createSlice(c, slice('testns', 'db', 'db-v6', [
    { addresses: ['fd00:16::10'], hostname: 'db-0', conditions: { ready: true } },
    { addresses: ['fd00:16::11'], hostname: 'db-1', conditions: { ready: true } },
  ], [{ name: 'http', port: 8080 }]));
  const dns = await startFerryDns(t, c.url);
  const srv = await waitForAnswer(dns.port, [`_http._tcp.db.testns.svc.${Z}`, 'SRV'], 2);
  t.is(srv.status, 'NOERROR');
  t.deepEqual(srv.answer.sort(), [
    `_http._tcp.db.testns.svc.${Z}. 30 IN SRV 0 25 8080 db-0.db.testns.svc.${Z}.`,
    `_http._tcp.db.testns.svc.${Z}. 30 IN SRV 0 25 8080 db-1.db.testns.svc.${Z}.`,
  ]);
  t.deepEqual(srv.additional.sort(), [
    `db-0.db.testns.svc.${Z}. 30 IN A 172.16.0.10`,
    `db-0.db.testns.svc.${Z}. 30 IN AAAA fd00:16::10`,
    `db-1.db.testns.svc.${Z}. 30 IN A 172.16.0.11`,
    `db-1.db.testns.svc.${Z}. 30 IN AAAA fd00:16::11`,
  ]);
});

async function waitForAnswer(port: number, args: string[], records: number) {
  let last = await dig(port, args);
  await waitFor(async () => (last = await dig(port, args)).answer.length >= records, 10_000, `${args.join(' ')} to answer`);
  return last;
}

test('dig: SERVFAIL before the informers sync is authoritative and carries the SOA', async (t) => {
  // An apiserver that accepts connections and never answers: the informers never sync.
  const sockets = new Set<Socket>();
  const silent = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const dns = await startFerryDns(t, `http://127.0.0.1:${port}`, [], { waitReady: false });
  const early = await dig(dns.port, [`svc0.testns.svc.${Z}`, 'A']);
  t.is(early.status, 'SERVFAIL');
  t.true(early.flags.includes('aa'), `flags: ${early.flags.join(' ')}`);
  t.deepEqual(early.authority, [SOA]);
  t.deepEqual(early.answer, []);
});

const rootTest = isRoot ? test.serial : test.skip;

rootTest('dig: the apex NS names the DNS Service with its ClusterIP as glue, and the NS names resolve', async (t) => {
  // The apiserver on a Unix socket, reachable from a lab namespace (never linked to the root one).
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-dns-ns-'));
  const socket = join(dataDir, 'api.sock');
  const server = new ApiServer({ backend: createBackend('memory', { dataDir }) });
  await server.start();
  await server.listenUnix(socket);
  const client = new ApiClient({ server: `unix://${socket}` });
  t.teardown(async () => {
    await client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const c = { url: `unix://${socket}`, client };
  // kube-system exists from the start (the apiserver's bootstrap).
  await createService(c, clusterIPService('kube-system', 'kube-dns', [{ name: 'dns', port: 53, protocol: 'UDP' }], { clusterIP: '10.96.100.10' }));
  await createSlice(c, slice('kube-system', 'kube-dns', 'kube-dns-1', [{ addresses: ['10.244.0.53'], conditions: { ready: true } }], [{ name: 'dns', port: 53, protocol: 'UDP' }]));

  // The DNS "pod": a namespace whose eth0 has the endpoint's address.
  const lab = new NetnsFixture(t);
  const pod = await lab.add('dns');
  const peer = await lab.add('peer');
  await vethPair(pod, 'eth0', peer, 'eth0');
  await addAddress(pod, 'eth0', '10.244.0.53/24');
  // Spawned by the fixture: killed with its process group before the namespaces go.
  const proc = lab.spawn(pod, FERRY, ['dns', '--server', c.url, '--listen', '0.0.0.0:5353', '--health-bind-address', '', '--ready-bind-address', '127.0.0.1:8181', '--metrics-bind-address', '', '--upstream', '127.0.0.1:9']);
  let log = '';
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const digIn = async (args: string[]) => parseDig((await lab.exec(pod, 'dig', ['-p', '5353', '@127.0.0.1', '+tries=1', '+time=3', '+nocookie', '+noall', '+comments', '+answer', '+authority', '+additional', ...args])).stdout);
  await waitFor(async () => (await lab.exec(pod, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8181/ready'], { allowFailure: true })).stdout === '200', 20_000, `ferry dns ready:\n${log}`);

  const ns = await digIn([Z, 'NS']);
  t.is(ns.status, 'NOERROR');
  t.deepEqual(ns.answer, [`${Z}. 30 IN NS kube-dns.kube-system.svc.${Z}.`]);
  t.deepEqual(ns.additional, [`kube-dns.kube-system.svc.${Z}. 30 IN A 10.96.100.10`]);
  t.deepEqual((await digIn([`kube-dns.kube-system.svc.${Z}`, 'A'])).answer, [`kube-dns.kube-system.svc.${Z}. 30 IN A 10.96.100.10`]);
  t.deepEqual((await digIn([`ns.dns.${Z}`, 'A'])).answer, [`ns.dns.${Z}. 30 IN A 10.96.100.10`]);
});
