import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** cpuMs is a process's user + system CPU time (all threads) from /proc, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const fixture = fileURLToPath(new URL('./fixtures/engine-echo.ts', import.meta.url));

/** exchange sends text through the proxy and resolves with what came back before the proxy closed. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1' }, () => c.write(text));
    let got = '';
    c.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.length >= text.length) c.end();
    });
    c.on('error', () => {});
    c.on('close', () => resolve(got));
    c.setTimeout(5000, () => c.destroy());
  });
}

test('out of descriptors: accepting pauses instead of spinning, and resumes once descriptors are free', async (t) => {
  const child = spawn('bash', ['-c', `ulimit -n 200 && exec "${process.execPath}" --import tsx "${fixture}"`], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => String((await lines.next()).value);
  const port = Number(await next());
  t.is(await exchange(port, 'before'), 'before');

  child.stdin!.write('exhaust\n');
  t.regex(await next(), /^ok [1-9]/);
  // The proxy may close the first exchange's two sockets only after that (on a loaded machine): take those too,
  // or the next connection is accepted into them and nothing runs out.
  await new Promise((r) => setTimeout(r, 300));
  child.stdin!.write('exhaust\n');
  t.regex(await next(), /^ok [1-9]/);
  const waiting = exchange(port, 'waiting');
  await new Promise((r) => setTimeout(r, 300));
  const before = cpuMs(child.pid!);
  await new Promise((r) => setTimeout(r, 1000));
  const spent = cpuMs(child.pid!) - before;
  t.true(spent < 300, `CPU while out of descriptors: ${spent} ms in 1 s`);
  // The thread's report reaches stderr through the main thread: give a loaded machine time.
  for (let i = 0; i < 50 && !/accept on t\/echo:: errno 24, paused/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
  t.regex(stderr, /accept on t\/echo:: errno 24, paused/);

  child.stdin!.write('release\n');
  t.is(await next(), 'ok 0');
  t.is(await waiting, 'waiting', 'the client that waited in the accept queue is served');
  t.is(await exchange(port, 'after'), 'after');
});
