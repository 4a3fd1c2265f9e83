import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startServer } from './server-fixture.ts';

/**
 * Debian's python3-kubernetes (installed by scripts/setup) against the
 * apiserver: create, paging with limit/_continue, patch, delete, and a
 * watch.Watch() stream, which the client asks for as `?watch=True`.
 */
const python = '/usr/bin/python3';
const script = new URL('./fixtures/python-client.py', import.meta.url).pathname;
const hasClient = existsSync('/usr/lib/python3/dist-packages/kubernetes');

(hasClient ? test : test.skip)('python3-kubernetes: create, page, patch, delete, and a watch seeing ADDED/MODIFIED/DELETED', async (t) => {
  const { url } = await startServer(t);
  const output = await new Promise<string>((resolve, reject) => {
    execFile(python, [script, url], { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
  const seen = JSON.parse(output.trim().split('\n').pop()!) as { paged: string[]; events: string[]; patched: Record<string, string> };
  t.deepEqual(seen.paged, ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4']);
  t.deepEqual(seen.events, ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
  t.deepEqual(seen.patched, { i: '1' });
});
