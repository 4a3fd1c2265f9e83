import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScale } from '../../helpers/load.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { isRunning, oneNodeLab, until, type OneNodeLab } from './node-fixture.ts';

const rootOnly = isRoot ? test.serial : test.skip;

/** statusColumn is what `kubectl get pod` prints as the pod's STATUS (and READY). */
async function getColumns(lab: OneNodeLab, name: string): Promise<{ ready: string; status: string; restarts: string }> {
  const r = await lab.k(['get', 'pod', name, '--no-headers']);
  if (r.code !== 0) throw new Error(r.stderr);
  const [, ready = '', status = '', restarts = ''] = r.stdout.trim().split(/\s+/);
  return { ready, status, restarts };
}

/** seenStatuses polls kubectl's STATUS column until done() and returns every distinct value seen, in order. */
async function seenStatuses(lab: OneNodeLab, name: string, done: (status: string) => boolean): Promise<string[]> {
  const seen: string[] = [];
  await until(`${name} status`, async () => {
    const { status } = await getColumns(lab, name);
    if (seen.at(-1) !== status) seen.push(status);
    return done(status);
  });
  return seen;
}

rootOnly('init containers run in order before the app (Init:N/M in kubectl get), each with its own logs', async (t) => {
  const lab = await oneNodeLab(t);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-init-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'order');
  await lab.createPod({
    metadata: { name: 'ordered' },
    spec: {
      initContainers: [
        { name: 'first', image: 'host/sh', command: ['sh', '-c', `echo "first here"; sleep 1; echo first >> ${file}`] },
        { name: 'second', image: 'host/sh', command: ['sh', '-c', `echo "second here"; sleep 1; echo second >> ${file}`] },
      ],
      containers: [{ name: 'app', image: 'host/sh', command: ['sh', '-c', `cat ${file}; echo app; exec sleep 600`] }],
    },
  });
  const seen = await seenStatuses(lab, 'ordered', (s) => s === 'Running');
  t.deepEqual(seen.filter((s) => s.startsWith('Init:')), ['Init:0/2', 'Init:1/2'].filter((s) => seen.includes(s)));
  t.true(seen.includes('Init:1/2'), `saw ${seen}`);
  const pod = await lab.pod('ordered');
  t.deepEqual(pod.status?.initContainerStatuses?.map((c) => [c.name, c.state?.terminated?.reason, c.state?.terminated?.exitCode, c.ready]), [['first', 'Completed', 0, true], ['second', 'Completed', 0, true]]);
  t.like(pod.status?.conditions?.find((c) => c.type === 'Initialized'), { status: 'True' });
  const app = await until('app logs', async () => {
    const r = await lab.k(['logs', 'ordered']);
    return r.stdout.includes('app') && r.stdout;
  });
  t.is(app, 'first\nsecond\napp\n');
  t.is((await lab.k(['logs', 'ordered', '-c', 'second'])).stdout, 'second here\n');
});

rootOnly('a failing init container is retried with back-off (Init:CrashLoopBackOff) and holds the app; under restartPolicy Never it fails the pod', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({
    metadata: { name: 'stuck' },
    spec: {
      initContainers: [{ name: 'check', image: 'host/sh', command: ['sh', '-c', 'echo "not yet"; exit 1'] }],
      containers: [{ name: 'app', image: 'host/sh', command: ['sleep', '600'] }],
    },
  });
  const seen = await seenStatuses(lab, 'stuck', (s) => s === 'Init:CrashLoopBackOff');
  // Pending until the node first reports; then only Init: states (Init:0/1, Init:Error, Init:CrashLoopBackOff).
  t.true(seen.every((s) => s === 'Pending' || s.startsWith('Init:')), `saw ${seen}`);
  const pod = await until('two restarts', async () => {
    const p = await lab.pod('stuck');
    return (p.status?.initContainerStatuses?.[0]?.restartCount ?? 0) >= 2 && p;
  });
  t.is(pod.status?.phase, 'Pending');
  t.is(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'PodInitializing');
  t.like(pod.status?.conditions?.find((c) => c.type === 'Initialized'), { status: 'False', reason: 'ContainersNotInitialized' });
  t.like(pod.status?.initContainerStatuses?.[0]?.lastState?.terminated, { exitCode: 1, reason: 'Error' });

  await lab.createPod({
    metadata: { name: 'doomed' },
    spec: {
      restartPolicy: 'Never',
      initContainers: [{ name: 'check', image: 'host/sh', command: ['sh', '-c', 'exit 2'] }],
      containers: [{ name: 'app', image: 'host/sh', command: ['sleep', '600'] }],
    },
  });
  const failed = await until('doomed failed', async () => {
    const p = await lab.pod('doomed');
    return p.status?.phase === 'Failed' && p;
  });
  t.like(failed.status?.initContainerStatuses?.[0]?.state?.terminated, { exitCode: 2, reason: 'Error' });
  t.is((await getColumns(lab, 'doomed')).status, 'Init:Error');
});

rootOnly('a sidecar (init container with restartPolicy Always) starts before the next init container, runs beside the app, and stops after it', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({
    metadata: { name: 'sided' },
    spec: {
      restartPolicy: 'Never',
      initContainers: [
        { name: 'proxy', image: 'host/sh', restartPolicy: 'Always', command: ['sh', '-c', 'echo "sidecar up"; trap "echo sidecar stopping; exit 0" TERM; while true; do sleep 0.2; done'] },
        { name: 'setup', image: 'host/sh', command: ['sh', '-c', 'echo setup'] },
      ],
      containers: [{ name: 'app', image: 'host/sh', command: ['sh', '-c', 'sleep 2; echo done'] }],
    },
  });
  const running = await until('sided running', async () => {
    const p = await lab.pod('sided');
    return isRunning(p) && p;
  });
  t.like(running.status?.initContainerStatuses?.[0], { name: 'proxy', started: true, ready: true });
  t.truthy(running.status?.initContainerStatuses?.[0]?.state?.running);
  t.is((await getColumns(lab, 'sided')).ready, '2/2');
  const done = await until('sided succeeded', async () => {
    const p = await lab.pod('sided');
    return p.status?.phase === 'Succeeded' && p.status.initContainerStatuses?.[0]?.state?.terminated && p;
  });
  t.is(done.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  // SIGTERM goes to the container's process group: the shell's sleep may report it before the trap runs.
  t.regex((await lab.k(['logs', 'sided', '-c', 'proxy'])).stdout, /^sidecar up\n(Terminated\n)?sidecar stopping\n$/);
});

/** startTimes reads the start stamps (ms) a container appended to file, one line per start. */
function startTimes(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => Number(l) / 1e6);
  } catch {
    return [];
  }
}

rootOnly('restarts follow kubelet\'s back-off: the first at once, then doubling to the cap (CrashLoopBackOff), and from scratch after a long enough run', async (t) => {
  // kubelet's 10 s → 300 s, reset after 10 min, scaled down: 400 ms → 1600 ms, reset after 1.5 s of running.
  const lab = await oneNodeLab(t, { initialMs: 400, maxMs: 1600, resetMs: 1500 });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-backoff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const quick = join(dir, 'quick');
  const slow = join(dir, 'slow');
  await lab.createPod({ metadata: { name: 'quick' }, spec: { containers: [{ name: 'c', image: 'host/sh', command: ['sh', '-c', `date +%s%N >> ${quick}; echo crash; exit 1`] }] } });
  await lab.createPod({ metadata: { name: 'slow' }, spec: { containers: [{ name: 'c', image: 'host/sh', command: ['sh', '-c', `date +%s%N >> ${slow}; sleep 1.7; exit 1`] }] } });
  const crashing = await until('CrashLoopBackOff', async () => {
    const p = await lab.pod('quick');
    return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' && p;
  });
  const c = crashing.status!.containerStatuses![0]!;
  t.regex(c.state?.waiting?.message ?? '', /^back-off \d+s restarting failed container=c/);
  t.like(c.lastState?.terminated, { exitCode: 1, reason: 'Error' });
  const row = await lab.k(['get', 'pod', 'quick', '--no-headers']);
  t.regex(row.stdout, /^quick\s+0\/1\s+CrashLoopBackOff\s+\d+/);
  await until('six starts', async () => startTimes(quick).length >= 6);
  const starts = startTimes(quick);
  const gaps = starts.slice(1, 6).map((s, i) => s - starts[i]!);
  const want = [0, 400, 800, 1600, 1600];
  for (const [i, gap] of gaps.entries()) t.true(gap >= want[i]! && gap < want[i]! + 600 * loadScale(), `gap ${i}: ${Math.round(gap)} ms, want ${want[i]} ms (+ start time); gaps ${gaps.map(Math.round)}`);
  // The status reaches the apiserver a moment after the start the file recorded.
  await until('restartCount 5', async () => ((await lab.pod('quick')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 5);
  // One BackOff event, counted, as kubelet's correlator aggregates them.
  const events = JSON.parse((await lab.k(['get', 'events', '--field-selector', 'involvedObject.name=quick,reason=BackOff', '-o', 'json'])).stdout) as { items: Array<{ count: number; message: string; type: string }> };
  t.is(events.items.length, 1);
  t.like(events.items[0], { type: 'Warning', message: 'Back-off restarting failed container c' });
  t.true(events.items[0]!.count >= 3, `count ${events.items[0]!.count}`);
  // The slow one runs longer than the reset time each time: every restart is immediate again.
  await until('four slow starts', async () => startTimes(slow).length >= 4);
  const slowStarts = startTimes(slow);
  const slowGaps = slowStarts.slice(1, 4).map((s, i) => s - slowStarts[i]!);
  for (const gap of slowGaps) t.true(gap >= 1700 && gap < 1700 + 400, `slow gaps ${slowGaps.map(Math.round)}`);
});

rootOnly('a startup probe holds started and ready (and the other probes) until it passes; failing it restarts the container', async (t) => {
  const lab = await oneNodeLab(t);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-startup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const up = join(dir, 'up');
  await lab.createPod({
    metadata: { name: 'slowstart' },
    spec: {
      containers: [{
        name: 'c', image: 'host/sh', command: ['sleep', '600'],
        startupProbe: { exec: { command: ['test', '-e', up] }, periodSeconds: 1, failureThreshold: 30 },
        // Would fail at once: it must not run before the startup probe passed.
        livenessProbe: { exec: { command: ['test', '-e', up] }, periodSeconds: 1, failureThreshold: 1 },
      }],
    },
  });
  const waiting = await until('running, not started', async () => {
    const p = await lab.pod('slowstart');
    return p.status?.containerStatuses?.[0]?.state?.running && p;
  });
  await new Promise((r) => setTimeout(r, 2500));
  const held = (await lab.pod('slowstart')).status?.containerStatuses?.[0];
  t.like(held, { started: false, ready: false, restartCount: 0 }, 'not started, and the liveness probe has not killed it');
  t.truthy(waiting);
  writeFileSync(up, '');
  const started = await until('started', async () => {
    const c = (await lab.pod('slowstart')).status?.containerStatuses?.[0];
    return c?.started && c;
  });
  t.like(started, { started: true, ready: true, restartCount: 0 });

  await lab.createPod({
    metadata: { name: 'neverstarts' },
    spec: { containers: [{ name: 'c', image: 'host/sh', command: ['sleep', '600'], startupProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 } }] },
  });
  const restarted = await until('restarted by the startup probe', async () => {
    const p = await lab.pod('neverstarts');
    return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && p;
  });
  t.false(restarted.status?.containerStatuses?.[0]?.ready);
  const events = await until('startup events', async () => {
    const r = await lab.k(['describe', 'pod', 'neverstarts']);
    return r.stdout.includes('failed startup probe') && r.stdout;
  });
  t.regex(events, /Warning\s+Unhealthy\s+.*Startup probe failed: exec probe exited 1/);
});

rootOnly('lifecycle hooks: postStart runs after the start, preStop before SIGTERM on deletion; a failed postStart kills the container', async (t) => {
  const lab = await oneNodeLab(t);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-hooks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const trail = join(dir, 'trail');
  await lab.createPod({
    metadata: { name: 'hooked' },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [{
        name: 'c', image: 'host/sh', command: ['sh', '-c', `trap "echo term >> ${trail}; exit 0" TERM; while true; do sleep 0.1; done`],
        lifecycle: {
          postStart: { exec: { command: ['sh', '-c', `echo poststart >> ${trail}`] } },
          preStop: { exec: { command: ['sh', '-c', `echo prestop >> ${trail}; sleep 0.5`] } },
        },
      }],
    },
  });
  await until('postStart ran', async () => existsSync(trail) && readFileSync(trail, 'utf8').includes('poststart'));
  const del = await lab.k(['delete', 'pod', 'hooked', '--wait=true']);
  t.is(del.code, 0, del.stderr);
  t.is(readFileSync(trail, 'utf8'), 'poststart\nprestop\nterm\n');

  await lab.createPod({
    metadata: { name: 'badhook' },
    spec: { containers: [{ name: 'c', image: 'host/sh', command: ['sleep', '600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 7'] } } } }] },
  });
  await until('restarted after the failed hook', async () => ((await lab.pod('badhook')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  const events = await until('hook event', async () => {
    const r = await lab.k(['describe', 'pod', 'badhook']);
    return r.stdout.includes('FailedPostStartHook') && r.stdout;
  });
  t.regex(events, /Warning\s+FailedPostStartHook\s+.*PostStartHook failed: PostStart hook: exec probe exited 7/);
});
