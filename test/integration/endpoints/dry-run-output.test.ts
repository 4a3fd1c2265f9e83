/**
 * Issue 19, finding 9: `ferry proxy --mode dry-run` whose output cannot be
 * written (stdout on /dev/full: ENOSPC) fails its syncs, counts and retries
 * them and reports unhealthy, and keeps running; it used to die of the
 * stream's unhandled 'error' event. With a working stdout it writes lines.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { TestApiserver, serviceObject, until } from './fixtures.ts';
import { ApiClient } from '../../../src/client/api-client.ts';
import { resources } from '../../../src/client/resources.ts';

const FERRY = new URL('../../../bin/ferry', import.meta.url).pathname;

function runProxy(t: any, url: string, stdout: number | 'pipe') {
  const proc = spawn(FERRY, ['proxy', '--mode', 'dry-run', '--server', url, '--hostname-override', 'node-a', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--min-sync-period', '100ms', '--sync-period', '500ms'], { stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  let out = '';
  let exitCode: number | null | undefined;
  proc.stderr!.on('data', (b: Buffer) => (stderr += b));
  proc.stdout?.on('data', (b: Buffer) => (out += b));
  proc.on('exit', (code) => (exitCode = code));
  t.teardown(() => {
    if (exitCode === undefined) proc.kill('SIGKILL');
  });
  return { stderr: () => stderr, out: () => out, exited: () => exitCode !== undefined };
}

test('dry-run output write errors are sync failures: counted, retried, unhealthy, never an exit', async (t) => {
  const api = new TestApiserver('memory');
  await api.start();
  const client = new ApiClient({ server: api.url });
  t.teardown(async () => {
    await client.close();
    await api.destroy();
  });
  await client.create(resources.services, serviceObject('default', 'web', [{ name: 'http', port: 80, protocol: 'TCP' }]));
  const full = openSync('/dev/full', 'w');
  const proxy = runProxy(t, api.url, full);
  closeSync(full);
  await until(() => /Starting proxy/.test(proxy.stderr()), 20_000, () => `start: ${proxy.stderr()}`);
  const field = (name: string) => new RegExp(`${name}=(\\S+)`).exec(proxy.stderr())?.[1] ?? '';
  const failures = async () => Number(/^ferry_proxy_sync_failures_total (\d+)/m.exec(await (await fetch(`http://${field('metrics')}/metrics`)).text())?.[1] ?? 0);
  await until(async () => (await failures()) >= 3, 15_000, () => `three failed syncs: ${proxy.stderr().slice(-500)}`);
  const healthz = await fetch(`http://${field('healthz')}/healthz`);
  t.false(proxy.exited(), `the proxy is still running: ${proxy.stderr().slice(-300)}`);
  t.is(healthz.status, 503, 'syncs failing for longer than 2x sync period');
  t.regex(proxy.stderr(), /ENOSPC/);
  t.log(`stdout on /dev/full: ${await failures()} failed syncs, /healthz ${healthz.status}, still running`);

  const working = runProxy(t, api.url, 'pipe');
  await until(() => working.out().includes('"default/web:http"'), 20_000, () => `a line on stdout: ${working.stderr().slice(-300)}`);
  t.pass();
});
