/**
 * Zone transfer end to end: `ferry dns -conf` with CoreDNS's `transfer { to * }`
 * next to `kubernetes` answers `dig AXFR cluster.local` over TCP with the
 * cluster zone (SOA first and last), a big zone in several messages, IXFR
 * with an old serial as AXFR and with the current serial as the SOA alone;
 * `ferry dns` without `transfer` refuses AXFR.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Service } from 'kubernetes-types/core/v1.d.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { createService, populateWebAndHeadless, startCluster, startFerryDns, startFerryDnsConf, waitFor, writeCorefile, type Teardown } from './harness.ts';

const Z = 'cluster.local';
const BULK = 2000;
const run = promisify(execFile);

const startConf = async (t: Teardown, url: string, corefile: string) => (await startFerryDnsConf(t, writeCorefile(t, corefile), { url })).port;

/** xfr runs dig for a transfer: the records (whitespace-normalised, SOA serial as S), the serial, and dig's comment lines. */
async function xfr(port: number, args: string[]): Promise<{ records: string[]; serial: number; comments: string[] }> {
  const { stdout } = await run('dig', ['-p', String(port), '@127.0.0.1', '+tries=1', '+time=5', '+nocookie', ...args], { maxBuffer: 64 << 20 });
  const lines = stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  let serial = 0;
  const records = lines.filter((l) => !l.startsWith(';')).map((l) => {
    const f = l.split(/\s+/);
    if (f[3] === 'SOA') {
      serial = Number(f[6]);
      f[6] = 'S';
    }
    return f.join(' ');
  });
  return { records, serial, comments: lines.filter((l) => l.startsWith(';')) };
}

const SOA = `${Z}. 30 IN SOA ns.dns.${Z}. hostmaster.${Z}. S 7200 1800 86400 30`;

test('dig AXFR/IXFR against ferry dns with transfer { to * }; without transfer AXFR is refused', async (t) => {
  const c = await startCluster(t);
  await populateWebAndHeadless(c);
  const port = await startConf(t, c.url, `.:${await freePort()} {\n  bind 127.0.0.1\n  ready 127.0.0.1:0\n  kubernetes ${Z} {\n    ttl 30\n  }\n  transfer {\n    to *\n  }\n  forward . 127.0.0.1:9\n}\n`);
  const axfr = await xfr(port, ['AXFR', Z]);
  t.deepEqual(axfr.records, [
    SOA,
    `${Z}. 30 IN NS ns.dns.${Z}.`,
    `hdls.testns.svc.${Z}. 30 IN A 172.16.0.10`,
    `db-0.hdls.testns.svc.${Z}. 30 IN A 172.16.0.10`,
    `_http._tcp.hdls.testns.svc.${Z}. 30 IN SRV 0 50 8080 db-0.hdls.testns.svc.${Z}.`,
    `hdls.testns.svc.${Z}. 30 IN A 172.16.0.11`,
    `172-16-0-11.hdls.testns.svc.${Z}. 30 IN A 172.16.0.11`,
    `_http._tcp.hdls.testns.svc.${Z}. 30 IN SRV 0 50 8080 172-16-0-11.hdls.testns.svc.${Z}.`,
    // The apiserver's own Service.
    `kubernetes.default.svc.${Z}. 30 IN A 10.96.0.1`,
    `kubernetes.default.svc.${Z}. 30 IN SRV 0 100 443 kubernetes.default.svc.${Z}.`,
    `_https._tcp.kubernetes.default.svc.${Z}. 30 IN SRV 0 100 443 kubernetes.default.svc.${Z}.`,
    `web.testns.svc.${Z}. 30 IN A 10.96.100.1`,
    `web.testns.svc.${Z}. 30 IN SRV 0 100 80 web.testns.svc.${Z}.`,
    `_http._tcp.web.testns.svc.${Z}. 30 IN SRV 0 100 80 web.testns.svc.${Z}.`,
    SOA,
  ]);
  t.true(axfr.serial > 0);
  t.deepEqual((await xfr(port, ['IXFR=1', Z])).records, axfr.records, 'an old serial gets the whole zone');
  t.deepEqual((await xfr(port, [`IXFR=${axfr.serial}`, Z])).records, [SOA], 'the current serial gets the SOA alone');

  // A big zone comes in several messages, each record once.
  await Promise.all(Array.from({ length: 8 }, async (_, worker) => {
    for (let i = worker; i < BULK; i += 8) {
      const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'testns', name: `ext-${String(i).padStart(4, '0')}` }, spec: { type: 'ExternalName', externalName: `host-${i}.example.com` } };
      await createService(c, svc);
    }
  }));
  let big = axfr;
  await waitFor(async () => (big = await xfr(port, ['AXFR', Z])).records.length === axfr.records.length + BULK, 20_000, 'the bulk services in the transfer');
  t.is(new Set(big.records.filter((r) => r.startsWith('ext-'))).size, BULK);
  t.is(big.records.at(0), SOA);
  t.is(big.records.at(-1), SOA);
  const messages = Number(/messages (\d+)/.exec(big.comments.join('\n'))?.[1]);
  t.log(big.comments.filter((l) => l.includes("XFR size")).join(" "));
  t.true(messages >= 3, `${messages} messages`);

  // ferry dns without transfer: refused, as before.
  const plain = await startFerryDns(t, c.url, ['--ttl', '30']);
  const refused = await xfr(plain.port, ['AXFR', Z]);
  t.deepEqual(refused.records, []);
  t.regex(refused.comments.join('\n'), /Transfer failed/);
});
