import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startServer } from './server-fixture.ts';

/**
 * Debian's python3-kubernetes (installed by scripts/setup) against the
 * apiserver: create, paging with limit/_continue, patch, delete, and a
 * watch.Watch() stream, which the client asks for as `?watch=True`; and a
 * resourceVersion older than the kept history, which kube answers with 410:
 * an ERROR event carrying an Expired Status in a watch (the client retries
 * once, then raises ApiException 410), a 410 Status on an exact list.
 */
const python = '/usr/bin/python3';
const script = new URL('./fixtures/python-client.py', import.meta.url).pathname;
const hasClient = existsSync('/usr/lib/python3/dist-packages/kubernetes');

(hasClient ? test : test.skip)('python3-kubernetes: create, page, patch, delete, a watch seeing ADDED/MODIFIED/DELETED, and 410 on a too-old resourceVersion', async (t) => {
  // History of 20 writes: the script's first 8 fit, its 30 fillers push the watch's start out.
  const { url } = await startServer(t, 'memory', { history: { maxEvents: 20 } });
  const output = await new Promise<string>((resolve, reject) => {
    execFile(python, [script, url], { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
  const seen = JSON.parse(output.trim().split('\n').pop()!) as { paged: string[]; events: string[]; patched: Record<string, string>; gone: Record<string, any>; old_rv: string };
  t.deepEqual(seen.paged, ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4']);
  t.deepEqual(seen.events, ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
  t.deepEqual(seen.patched, { i: '1' });
  t.is(seen.gone.watch.status, 410);
  t.regex(seen.gone.watch.reason, new RegExp(`^Expired: too old resource version: ${seen.old_rv} \\(\\d+\\)$`));
  t.deepEqual(seen.gone.list, { status: 410, reason: 'Expired', message: 'The resourceVersion for the provided list is too old.' });
});
