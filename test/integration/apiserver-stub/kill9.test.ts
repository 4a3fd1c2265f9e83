import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { tempDir } from './server-fixture.ts';

/**
 * Acceptance 3 through the REST layer: `ferry apiserver --storage file` is
 * killed with SIGKILL while clients create objects; after a restart every
 * create it acknowledged (201) is there and resourceVersions keep increasing.
 */
async function startProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('./bin/ferry', ['apiserver', '--plain-http', '--listen', '127.0.0.1:0', '--storage', 'file', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) return { child, url: m[1]! };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`apiserver did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('file store through REST: SIGKILL during creates loses no acknowledged object', async (t) => {
  const dataDir = await tempDir(t);
  const first = await startProcess(dataDir);
  t.teardown(() => first.child.kill('SIGKILL'));
  const pool = new Pool(first.url, { connections: 16 });
  const acknowledged = new Map<string, number>();
  let next = 0;
  let stop = false;
  const writer = async (): Promise<void> => {
    while (!stop) {
      const name = `cm-${next++}`;
      try {
        const res = await pool.request({ path: '/api/v1/namespaces/default/configmaps', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name }, data: { n: name } }) });
        const body = (await res.body.json()) as { metadata?: { resourceVersion?: string } };
        if (res.statusCode === 201) acknowledged.set(name, Number(body.metadata!.resourceVersion));
      } catch {
        return; // the server is gone
      }
    }
  };
  const writers = Array.from({ length: 16 }, writer);
  while (acknowledged.size < 300) await new Promise((r) => setTimeout(r, 10));
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  stop = true;
  await exited;
  await Promise.all(writers);
  await pool.destroy();

  const second = await startProcess(dataDir);
  t.teardown(() => second.child.kill('SIGKILL'));
  const list = (await (await fetch(`${second.url}/api/v1/namespaces/default/configmaps`)).json()) as { items: Array<{ metadata: { name: string; resourceVersion: string } }> };
  const stored = new Map(list.items.map((i) => [i.metadata.name, Number(i.metadata.resourceVersion)]));
  const missing = [...acknowledged.keys()].filter((name) => !stored.has(name));
  t.deepEqual(missing, [], `${missing.length} of ${acknowledged.size} acknowledged creates lost`);
  for (const [name, rv] of acknowledged) t.is(stored.get(name), rv, name);
  const maxRV = Math.max(...acknowledged.values());
  const after = await fetch(`${second.url}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'after-restart' } }) });
  const created = (await after.json()) as { metadata: { resourceVersion: string } };
  t.true(Number(created.metadata.resourceVersion) > maxRV);
  t.log(`${acknowledged.size} creates acknowledged before SIGKILL, all present after restart`);
});
