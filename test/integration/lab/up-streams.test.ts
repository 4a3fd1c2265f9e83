import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { labPaths } from '../../../src/lab/cluster/state.ts';
import { execFile } from '../../../src/util/exec.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { until } from './node-fixture.ts';

/**
 * Issue 18 through the real CLI: in a `ferry up --demo` lab (every component
 * its own process), kubectl logs, exec and port-forward reach the demo pods
 * through the apiserver's relay to the node agents.
 */
const FERRY = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
const name = `streams-${process.pid}`;
const prefix = `fytest-${process.pid}-st-`;

(isRoot ? test : test.skip)('ferry up --demo: kubectl logs, exec and port-forward svc/web work against the demo pods', async (t) => {
  t.teardown(() => execFile(FERRY, ['down', '--name', name], { allowFailure: true, timeoutMs: 120_000 }));
  const up = await execFile(FERRY, ['up', '--name', name, '--nodes', '2', '--demo', '--lab-prefix', prefix], { allowFailure: true, timeoutMs: 180_000 });
  t.is(up.code, 0, up.stdout + up.stderr);
  const env = { ...process.env, KUBECONFIG: labPaths(name).kubeconfig };
  const k = (args: string[]) => execFile('kubectl', args, { allowFailure: true, timeoutMs: 30_000, env });
  const pods = (await k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).stdout.trim().split('\n');
  t.true(pods.length >= 2, pods.join(' '));
  const logs = await k(['logs', pods[0]!]);
  t.is(logs.code, 0, logs.stderr);
  t.regex(logs.stdout, /^Started HTTP server on port 8080\n/);
  const exec = await k(['exec', pods[0]!, '--', 'sh', '-c', 'echo "$HOSTNAME"']);
  t.is(exec.code, 0, exec.stderr);
  t.is(exec.stdout, `${pods[0]!.replace('pod/', '')}\n`);
  const pf = spawn('kubectl', ['port-forward', 'svc/web', '18093:80'], { env });
  t.teardown(() => pf.kill());
  let out = '';
  pf.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await until('port-forward listening', async () => out.includes('Forwarding from'));
  const res = await fetch('http://127.0.0.1:18093/hostname');
  t.regex(await res.text(), /^web-/);
});
