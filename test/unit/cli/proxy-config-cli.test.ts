import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

// `ferry proxy --config` as a process: a bad file stops it at start with the
// field named; --write-config-to writes the effective configuration and exits.

const FERRY = new URL('../../../bin/ferry', import.meta.url).pathname;
const KUBEADM = new URL('../../fixtures/kube-proxy/kubeadm-1.30-config.conf', import.meta.url).pathname;

function ferry(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(FERRY, args, { env: { ...process.env, FERRY_TSX: '1' }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

test('ferry proxy --config with an unknown field or a value it cannot honour exits 1 naming the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-kpc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const text = await readFile(KUBEADM, 'utf8');
  await writeFile(join(dir, 'unknown.conf'), text.replace('mode: ""', 'mode: ""\nmodes: iptables'));
  await writeFile(join(dir, 'strict.conf'), text.replace('strictARP: false', 'strictARP: true'));
  await writeFile(join(dir, 'v6.conf'), text.replace('clusterCIDR: 10.244.0.0/16', 'clusterCIDR: 10.244.0.0/16,fd00:10:244::/56'));
  const unknown = await ferry(['proxy', '--config', join(dir, 'unknown.conf'), '--server', 'http://127.0.0.1:1']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /strict decoding error: unknown field "modes"/);
  const strict = await ferry(['proxy', '--config', join(dir, 'strict.conf'), '--server', 'http://127.0.0.1:1']);
  t.is(strict.code, 1);
  t.regex(strict.stderr, /KubeProxyConfiguration.ipvs.strictARP: Unsupported value: true: not implemented by ferry/);
  // A dual-stack clusterCIDR, once refused (IPv4 only), is read as kube-proxy reads it (one CIDR per family's proxier;
  // validateProxyConfig's acceptance is in test/unit/endpoints/proxy-config.test.ts).
  const v6 = await ferry(['proxy', '--config', join(dir, 'v6.conf'), '--write-config-to', join(dir, 'v6-effective.yaml')]);
  t.is(v6.code, 0, v6.stderr);
  t.regex(await readFile(join(dir, 'v6-effective.yaml'), 'utf8'), /clusterCIDR: 10\.244\.0\.0\/16,fd00:10:244::\/56/);
});

test('ferry proxy --config kubeadm.conf --write-config-to writes the defaulted configuration with the flags applied', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-kpc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'effective.yaml');
  const r = await ferry(['proxy', '--config', KUBEADM, '--mode', 'nftables', '--write-config-to', out]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /Flags given with --config override the file; kube-proxy would ignore them flags=--mode/);
  t.like(parseYaml(await readFile(out, 'utf8')), {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'nftables', clusterCIDR: '10.244.0.0/16',
    clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' }, nftables: { syncPeriod: '30s', minSyncPeriod: '1s', masqueradeBit: 14 },
  });
});
