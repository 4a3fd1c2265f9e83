/**
 * Acceptance 5: names outside the cluster go to the upstream — here a
 * dnsmasq started on 127.0.0.1 answering example.com with 192.0.2.53 —
 * including ExternalName chasing, TCP retry of truncated upstream answers,
 * and upstream failure (SERVFAIL within the upstream timeout, no hang).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dig, freePort, waitFor, startCluster, startFerryDns, createService, type Teardown } from './harness.ts';

const Z = 'cluster.local';

/** startDnsmasq runs dnsmasq on 127.0.0.1 with example.com → 192.0.2.53 and 60 addresses for big.example.com. */
async function startDnsmasq(t: Teardown): Promise<{ port: number; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dnsmasq-'));
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1} big.example.org`).join('\n') + '\n');
  const port = await freePort();
  const proc = spawn('dnsmasq', ['--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', `--pid-file=${join(dir, 'pid')}`, `--addn-hosts=${hosts}`, '--local-ttl=60', '--address=/example.com/192.0.2.53'], { stdio: 'ignore' });
  let exited = false;
  proc.on('exit', () => (exited = true));
  const stop = () => {
    if (!exited) proc.kill('SIGTERM');
  };
  t.teardown(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((r) => setTimeout(r, 300));
  return { port, stop };
}

test('forwarding, ExternalName chase, TCP retry, and upstream failure', async (t) => {
  const upstream = await startDnsmasq(t);
  const c = await startCluster(t);
  await createService(c, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'www.example.com' } });
  const dns = await startFerryDns(t, c.url, ['--upstream', `127.0.0.1:${upstream.port}`]);

  const fwd = await dig(dns.port, ['www.example.com', 'A']);
  t.is(fwd.status, 'NOERROR');
  t.deepEqual(fwd.answer.map((l) => l.replace(/ \d+ IN/, ' IN')), ['www.example.com. IN A 192.0.2.53']);
  t.true(fwd.flags.includes('qr') && !fwd.answer.some((l) => l.includes('cluster.local')), 'relayed as the upstream wrote it');

  const chased = await dig(dns.port, [`ext.default.svc.${Z}`, 'A']);
  t.is(chased.status, 'NOERROR');
  t.deepEqual(chased.answer.map((l) => l.replace(/ \d+ IN/, ' IN')), [`ext.default.svc.${Z}. IN CNAME www.example.com.`, 'www.example.com. IN A 192.0.2.53']);

  // 60 A records do not fit 512 bytes: a UDP client gets TC and retries over TCP, where we retry upstream over TCP.
  const udpBig = await dig(dns.port, ['big.example.org', 'A', '+noedns', '+ignore']);
  t.true(udpBig.flags.includes('tc'));
  const tcpBig = await dig(dns.port, ['big.example.org', 'A', '+tcp']);
  t.is(tcpBig.answer.length, 60);

  upstream.stop();
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  const failed = await dig(dns.port, ['gone.example.net', 'A']);
  const took = Date.now() - started;
  t.is(failed.status, 'SERVFAIL');
  t.true(took < 3000, `SERVFAIL after ${took} ms`);
  // Cached answers keep working while the upstream is down.
  t.is((await dig(dns.port, ['www.example.com', 'A'])).status, 'NOERROR');
});

test('clients outside --forward-allow are REFUSED for outside names but answered for cluster names', async (t) => {
  const upstream = await startDnsmasq(t);
  const c = await startCluster(t);
  const dns = await startFerryDns(t, c.url, ['--upstream', `127.0.0.1:${upstream.port}`, '--forward-allow', '10.0.0.0/8']);
  t.is((await dig(dns.port, ['www.example.com', 'A'])).status, 'REFUSED');
  t.is((await dig(dns.port, [`kubernetes.default.svc.${Z}`, 'A'])).status, 'NOERROR');
});

test('an upstream that is this server itself is dropped (loop check)', async (t) => {
  const c = await startCluster(t);
  const port = await freePort();
  const proc = spawn('./bin/ferry', ['dns', '--server', c.url, '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${port}`, '--health-bind-address', '', '--ready-bind-address', '', '--metrics-bind-address', ''], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => proc.kill('SIGTERM'));
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  await waitFor(() => log.includes('Serving DNS'), 20_000, 'ferry dns to start');
  t.regex(log, /Not forwarding to this server itself \(loop\)/);
  t.is((await dig(port, ['example.com', 'A'])).status, 'SERVFAIL');
});
