import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { isRunning, KUBECTL, oneNodeLab, until } from './node-fixture.ts';

const rootOnly = isRoot ? test.serial : test.skip;

// kubectl 1.32 speaks WebSocket v5.channel.k8s.io to the apiserver, which relays pods/exec and pods/attach to the node agent.

rootOnly('kubectl logs (-c, --tail, --timestamps, -f), exec (stdin, exit codes, -it on a terminal) and cp reach the pod through the apiserver', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({
    metadata: { name: 'two' },
    spec: {
      containers: [
        { name: 'counter', image: 'host/sh', command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done'] },
        { name: 'quiet', image: 'host/sh', command: ['sh', '-c', 'echo "quiet here"; exec sleep 600'] },
      ],
    },
  });
  await until('two running', async () => isRunning(await lab.pod('two')));

  // -c picks the container; --tail and --timestamps shape the output.
  const quiet = await until('quiet logs', async () => {
    const r = await lab.k(['logs', 'two', '-c', 'quiet']);
    return r.code === 0 && r.stdout.includes('quiet') && r.stdout;
  });
  t.is(quiet, 'quiet here\n');
  const tail = await until('three ticks', async () => {
    const r = await lab.k(['logs', 'two', '-c', 'counter', '--tail', '2', '--timestamps']);
    return r.code === 0 && r.stdout.split('\n').length === 3 && r.stdout;
  });
  t.regex(tail, /^\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+\n\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+\n$/);

  // -f keeps streaming new lines.
  const follow = spawn(KUBECTL, ['--server', lab.url, 'logs', '-f', 'two', '-c', 'counter', '--tail', '1'], { env: { ...process.env, KUBECONFIG: '/dev/null' } });
  t.teardown(() => follow.kill());
  let followed = '';
  follow.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  await until('followed lines', async () => followed.split('\n').length > 5);
  const numbers = followed.trim().split('\n').map((l) => Number(/tick (\d+)/.exec(l)?.[1]));
  t.deepEqual(numbers.slice(1), numbers.slice(1).map((_n, i) => numbers[0]! + i + 1), 'consecutive ticks, streamed as written');
  follow.kill();

  // exec runs in the pod: its host name, its network namespace, its resolv.conf, the container's environment.
  const exec = await lab.k(['exec', 'two', '-c', 'quiet', '--', 'sh', '-c', 'echo "$HOSTNAME $POD_NAME"; hostname; ip -o -4 addr show eth0 | grep -c 10.244.1.; grep -c "nameserver 10.96.0.10" /etc/resolv.conf']);
  t.is(exec.code, 0, exec.stderr);
  t.is(exec.stdout, 'two two\ntwo\n1\n1\n');
  // stdin to the command, ended by the v5 close signal; stderr apart; exit codes come back.
  const cat = await lab.k(['exec', '-i', 'two', '-c', 'quiet', '--', 'sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 3'], 'hello pod\n');
  t.is(cat.code, 3);
  t.is(cat.stdout, 'HELLO POD\n');
  t.regex(cat.stderr, /oops/);
  // -it: a terminal in the pod (the local side is a pseudo-terminal too).
  const tty = await lab.kubectlOnTty(['exec', '-it', 'two', '-c', 'quiet', '--', 'sh'], 'echo "tty? $(tty) host=$HOSTNAME size=$(stty size)"\nexit 0\n');
  t.is(tty.code, 0, tty.stdout + tty.stderr);
  // The size comes through the resize channel.
  t.regex(tty.stdout, /tty\? \/dev\/pts\/\d+ host=two size=33 101/);
  // kubectl cp is tar over exec, ended by closing stdin (the file system is the host's: a private directory).
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'source.txt'), 'copied through tar\n');
  const cp = await lab.k(['cp', join(dir, 'source.txt'), `two:${dir}/in-pod.txt`, '-c', 'quiet']);
  t.is(cp.code, 0, cp.stderr);
  t.is((await lab.k(['exec', 'two', '-c', 'quiet', '--', 'cat', `${dir}/in-pod.txt`])).stdout, 'copied through tar\n');
  const back = await lab.k(['cp', `two:${dir}/in-pod.txt`, join(dir, 'back.txt'), '-c', 'quiet']);
  t.is(back.code, 0, back.stderr);
  t.is(readFileSync(join(dir, 'back.txt'), 'utf8'), 'copied through tar\n');
  const missing = await lab.k(['exec', 'two', '-c', 'nope', '--', 'true']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /container nope is not valid/);
});

rootOnly('kubectl logs --previous shows the crashed instance; attach (WebSocket with 1.32, SPDY with 1.27) streams a running container', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({
    metadata: { name: 'crasher' },
    spec: { containers: [{ name: 'c', image: 'host/sh', command: ['sh', '-c', 'echo "run at $(date +%s%N)"; sleep 1; exit 1'] }] },
  });
  await until('a restart', async () => ((await lab.pod('crasher')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  const previous = await lab.k(['logs', 'crasher', '--previous']);
  t.is(previous.code, 0, previous.stderr);
  t.regex(previous.stdout, /^run at \d+\n$/);
  const current = await until('current instance logs', async () => {
    const r = await lab.k(['logs', 'crasher']);
    return r.code === 0 && r.stdout && r.stdout;
  });
  t.not(current, previous.stdout, 'each instance has its own log');

  await lab.createPod({
    metadata: { name: 'echoer' },
    spec: { containers: [{ name: 'c', image: 'host/sh', stdin: true, command: ['sh', '-c', 'while read line; do echo "got $line"; done'] }] },
  });
  await until('echoer running', async () => isRunning(await lab.pod('echoer')));
  // kubectl 1.32 attaches over WebSocket, 1.27 over SPDY.
  for (const bin of [KUBECTL, '/usr/lib/google-cloud-sdk/bin/kubectl.1.27']) {
    const attach = spawn(bin, ['--server', lab.url, 'attach', '-i', 'echoer'], { env: { ...process.env, KUBECONFIG: '/dev/null' } });
    t.teardown(() => attach.kill());
    let out = '';
    attach.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const word = `word-${bin.length}`;
    await until(`${bin} attached output`, async () => {
      attach.stdin.write(`${word}\n`);
      return out.includes(`got ${word}`);
    });
    t.regex(out, new RegExp(`^(got ${word}\\n)+$`));
    attach.kill();
  }
});

const KUBECTL_127 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.27';

rootOnly('kubectl 1.27 exec (-i, -it) over SPDY; port-forward over SPDY (1.27) and SPDY in WebSocket (1.32) reaches a pod port from the host', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({
    metadata: { name: 'web' },
    spec: { containers: [{ name: 'agnhost', image: 'ferry/agnhost', args: ['netexec', '--http-port=8080'] }] },
  });
  await until('web running', async () => isRunning(await lab.pod('web')));
  const started = await until('agnhost says it started', async () => {
    const r = await lab.k(['logs', 'web']);
    return r.code === 0 && r.stdout.includes('HTTP') && r.stdout;
  });
  t.regex(started, /^Started HTTP server on port 8080\n/);
  const exec = await lab.k(['exec', '-i', 'web', '--', 'sh', '-c', 'echo "in $HOSTNAME"; cat; exit 4'], 'piped\n', KUBECTL_127);
  t.is(exec.code, 4, exec.stderr);
  t.is(exec.stdout, 'in web\npiped\n');
  const tty = await lab.kubectlOnTty(['exec', '-it', 'web', '--', 'sh'], 'echo "tty? $(tty) size=$(stty size)"\nexit 0\n', KUBECTL_127);
  t.is(tty.code, 0, tty.stdout + tty.stderr);
  t.regex(tty.stdout, /tty\? \/dev\/pts\/\d+ size=33 101/);

  for (const [bin, localPort] of [[KUBECTL_127, 18081], [KUBECTL, 18082]] as const) {
    const pf = spawn(bin, ['--server', lab.url, 'port-forward', 'pod/web', `${localPort}:8080`], { env: { ...process.env, KUBECONFIG: '/dev/null' } });
    let pfOut = '';
    pf.stdout.on('data', (b: Buffer) => (pfOut += b.toString()));
    pf.stderr.on('data', (b: Buffer) => (pfOut += b.toString()));
    try {
      await until(`${bin} port-forward listening`, async () => pfOut.includes('Forwarding from'));
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`http://127.0.0.1:${localPort}/hostname`);
        t.is(await res.text(), 'web', `${bin} request ${i}`);
      }
      const echo = await fetch(`http://127.0.0.1:${localPort}/echo?msg=${'x'.repeat(12_000)}`);
      t.is((await echo.text()).length, 12_000);
    } finally {
      pf.kill();
    }
  }
});

rootOnly('a node without a streaming port (an ipvs lab\'s guest) pushes its pods\' logs instead; exec says why it cannot', async (t) => {
  const lab = await oneNodeLab(t, undefined, false);
  await lab.createPod({ metadata: { name: 'pushed' }, spec: { containers: [{ name: 'c', image: 'host/sh', command: ['sh', '-c', 'echo "pushed line"; exec sleep 600'] }] } });
  const logs = await until('pushed logs', async () => {
    const r = await lab.k(['logs', 'pushed']);
    return r.code === 0 && r.stdout.includes('pushed') && r.stdout;
  });
  t.is(logs, 'pushed line\n');
  const exec = await lab.k(['exec', 'pushed', '--', 'true']);
  t.not(exec.code, 0);
  t.regex(exec.stderr, /node node-a publishes no streaming endpoint/);
});
