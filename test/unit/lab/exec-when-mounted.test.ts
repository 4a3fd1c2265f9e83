import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execWhenMounted } from '../../../src/lab/container.ts';

test('execWhenMounted: the command starts only once the wrapper has left its marker, with its stdin intact', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-mounted-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'mounted');
  const [file, ...args] = execWhenMounted(marker, ['sh', '-c', `test -e ${marker} && echo "after the marker: $(cat)"`]);
  const started = Date.now();
  const run = promisify(execFile)(file!, args, { encoding: 'utf8' });
  run.child.stdin!.end('stdin kept');
  setTimeout(() => writeFileSync(marker, ''), 300);
  const { stdout } = await run;
  t.is(stdout, 'after the marker: stdin kept\n');
  t.true(Date.now() - started >= 290);
});

test('execWhenMounted: without a marker to wait for the command runs as given', (t) => {
  t.deepEqual(execWhenMounted(undefined, ['echo', 'hi']), ['echo', 'hi']);
});
