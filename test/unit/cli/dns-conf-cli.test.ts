import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `ferry dns -conf` as a process: a Corefile it cannot run stops it at start
// with the line and the plugin named; the other flags are not mixed with it.

const FERRY = new URL('../../../bin/ferry', import.meta.url).pathname;

function ferry(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(FERRY, args, { timeout: 60_000 }, (error, _stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr }));
  });
}

test('an unknown plugin, a broken block, or -conf with other flags: the start fails naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-conf-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'unknown'), '.:1053 {\n    errors\n    whoami\n}\n');
  await writeFile(join(dir, 'broken'), '.:1053 {\n    forward . 1.1.1.1 {\n        max_concurrent lots\n    }\n}\n');
  const unknown = await ferry(['dns', '-conf', join(dir, 'unknown'), '--server', 'http://127.0.0.1:1']);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /\/unknown:3 - Error during parsing: Unknown directive 'whoami'/);
  const broken = await ferry(['dns', '--conf', join(dir, 'broken'), '--server', 'http://127.0.0.1:1']);
  t.not(broken.code, 0);
  t.regex(broken.stderr, /plugin\/forward: invalid value "lots"/);
  const mixed = await ferry(['dns', '-conf', join(dir, 'unknown'), '--ttl', '5', '--server', 'http://127.0.0.1:1']);
  t.not(mixed.code, 0);
  t.regex(mixed.stderr, /--ttl cannot be combined with -conf/);
});
