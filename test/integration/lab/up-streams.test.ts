import test from 'ava';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';
import { labPaths } from '../../../src/lab/cluster/state.ts';
import { execFile } from '../../../src/util/exec.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { until } from './node-fixture.ts';

/**
 * Issue 18 through the real CLI: in a `ferry up --demo` lab (every component
 * its own process), kubectl logs, exec and port-forward reach the demo pods
 * through the apiserver's relay to the node agents; with kubectl 1.32 and
 * 1.27 (acceptance 5): `logs -f`, `exec -it … -- sh -c 'echo $HOSTNAME'`,
 * `port-forward svc/web` then curl from the host, and `cp` both ways. A pod
 * whose readiness probe fails leaves its Service's EndpointSlice and the
 * node's proxy rules (acceptance 4). Pods reach `https://kubernetes.default.svc`
 * with their ServiceAccount token and the cluster CA (issue 17).
 */
const FERRY = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const KUBECTLS = ['/usr/bin/kubectl', '/usr/lib/google-cloud-sdk/bin/kubectl.1.27'];
const name = `streams-${process.pid}`;
const prefix = `fytest-${process.pid}-st-`;

const ticker = `apiVersion: v1
kind: Pod
metadata: {name: ticker, namespace: default}
spec:
  containers: [{name: c, image: busybox, command: [sh, -c, 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']}]
`;

(isRoot ? test : test.skip)('ferry up --demo: kubectl logs, exec and port-forward svc/web work against the demo pods', async (t) => {
  t.teardown(() => execFile(FERRY, ['down', '--name', name], { allowFailure: true, timeoutMs: 120_000 }));
  const up = await execFile(FERRY, ['up', '--name', name, '--nodes', '2', '--demo', '--lab-prefix', prefix], { allowFailure: true, timeoutMs: 180_000 });
  t.is(up.code, 0, up.stdout + up.stderr);
  const env = { ...process.env, KUBECONFIG: labPaths(name).kubeconfig };
  const k = (args: string[], input?: string, bin = 'kubectl') => execFile(bin, args, { allowFailure: true, timeoutMs: 30_000, env, ...(input ? { input } : {}) });
  const pods = (await k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).stdout.trim().split('\n');
  t.true(pods.length >= 2, pods.join(' '));
  const logs = await k(['logs', pods[0]!]);
  t.is(logs.code, 0, logs.stderr);
  t.regex(logs.stdout, /^Started HTTP server on port 8080\n/);
  const exec = await k(['exec', pods[0]!, '--', 'sh', '-c', 'echo "$HOSTNAME"']);
  t.is(exec.code, 0, exec.stderr);
  t.is(exec.stdout, `${pods[0]!.replace('pod/', '')}\n`);
  // Issue 17: the pod's ServiceAccount volume, and in-cluster HTTPS to the kubernetes Service with its token and the cluster CA.
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const review = `curl -sS --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" -H 'Content-Type: application/json' -X POST -d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' https://kubernetes.default.svc/apis/authentication.k8s.io/v1/selfsubjectreviews`;
  const who = await k(['exec', pods[0]!, '--', 'sh', '-c', review]);
  t.is(who.code, 0, who.stderr);
  t.like(JSON.parse(who.stdout).status.userInfo, { username: 'system:serviceaccount:default:default', extra: { 'authentication.kubernetes.io/pod-name': [pods[0]!.replace('pod/', '')] } });
  t.is((await k(['exec', pods[0]!, '--', 'cat', `${sa}/namespace`])).stdout, 'default');
  const anonymous = await k(['exec', pods[0]!, '--', 'sh', '-c', `curl -s -o /dev/null -w '%{http_code}' --cacert ${sa}/ca.crt https://kubernetes.default.svc/api`]);
  t.is(anonymous.stdout, '401');

  t.is((await k(['apply', '-f', '-'], ticker)).code, 0);
  await until('ticker running', async () => (await k(['get', 'pod', 'ticker', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-up-cp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const bin of KUBECTLS) {
    const v = bin.endsWith('1.27') ? '1.27' : '1.32';
    // logs -f streams new lines as they are written.
    const follow = spawn(bin, ['logs', '-f', 'ticker', '--tail', '1'], { env });
    t.teardown(() => follow.kill());
    let followed = '';
    follow.stdout.on('data', (b: Buffer) => (followed += b.toString()));
    await until(`${v} logs -f`, async () => followed.split('\n').length > 4);
    follow.kill();
    const ticks = followed.trim().split('\n').map((l) => Number(/tick (\d+)/.exec(l)?.[1]));
    t.deepEqual(ticks, ticks.map((_n, i) => ticks[0]! + i), `${v}: consecutive ticks`);
    // exec -it on a terminal (script gives kubectl a pseudo-terminal).
    const tty = await execFile('script', ['-qec', `${bin} exec -it ticker -- sh -c 'echo "host=$HOSTNAME"'`, '/dev/null'], { allowFailure: true, timeoutMs: 30_000, env });
    t.is(tty.code, 0, `${v}: ${tty.stdout}${tty.stderr}`);
    t.regex(tty.stdout, /host=ticker\r?\n/);
    // port-forward svc/web, then curl from the host.
    const port = await freePort();
    const pf = spawn(bin, ['port-forward', 'svc/web', `${port}:80`], { env });
    t.teardown(() => pf.kill());
    let out = '';
    pf.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await until(`${v} port-forward listening`, async () => out.includes('Forwarding from'));
    const curl = await execFile('curl', ['-s', '-m', '5', `http://127.0.0.1:${port}/hostname`], { allowFailure: true });
    t.regex(curl.stdout, /^web-/, `${v}: curl through port-forward svc/web`);
    pf.kill();
    // cp both ways (tar over exec).
    writeFileSync(join(dir, `src-${v}.txt`), `copied by ${v}\n`);
    const to = await k(['cp', join(dir, `src-${v}.txt`), `ticker:${dir}/in-pod-${v}.txt`], undefined, bin);
    t.is(to.code, 0, to.stderr);
    const from = await k(['cp', `ticker:${dir}/in-pod-${v}.txt`, join(dir, `back-${v}.txt`)], undefined, bin);
    t.is(from.code, 0, from.stderr);
    t.is(readFileSync(join(dir, `back-${v}.txt`), 'utf8'), `copied by ${v}\n`);
  }

  // Readiness: a web pod whose probe fails leaves the EndpointSlice and node1's proxy rules.
  const readyFile = join(dir, 'ready');
  writeFileSync(readyFile, '');
  const flaky = `apiVersion: v1
kind: Pod
metadata: {name: flaky, namespace: default, labels: {app: web}}
spec:
  containers: [{name: c, image: ferry/agnhost, args: [netexec, --http-port=8080], readinessProbe: {exec: {command: [test, -e, ${readyFile}]}, periodSeconds: 1, failureThreshold: 1}}]
`;
  t.is((await k(['apply', '-f', '-'], flaky)).code, 0);
  const client = new ApiClient({ server: `unix://${labPaths(name).socket}` });
  t.teardown(() => client.close());
  const flakyIP = await until('flaky has an IP', async () => (await k(['get', 'pod', 'flaky', '-o', 'jsonpath={.status.podIP}'])).stdout || undefined);
  const endpoint = async () => (await client.list<EndpointSlice>(resources.endpointslices, { namespace: 'default', labelSelector: 'kubernetes.io/service-name=web' })).items
    .flatMap((s) => s.endpoints ?? []).find((e) => e.targetRef?.name === 'flaky');
  const inRules = async () => (await execFile(FERRY, ['exec', '--name', name, 'node/node1', '--', 'iptables-save', '-t', 'nat'], { allowFailure: true })).stdout.includes(`${flakyIP}:8080`);
  await until('flaky ready in the slice and in the rules', async () => (await endpoint())?.conditions?.ready === true && (await inRules()));
  rmSync(readyFile);
  await until('flaky not ready in the slice', async () => (await endpoint())?.conditions?.ready === false);
  await until('flaky gone from node1\'s rules', async () => !(await inRules()));
  t.like((await endpoint())?.conditions, { ready: false, serving: false });
});
