import test from 'ava';
import { join } from 'node:path';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { containerArgv, ImageError, imageName, isAgnhost } from '../../../src/lab/image.ts';
import { PodIpam, parseCidr, cidrContains } from '../../../src/lab/ipam.ts';
import { containerEnv, expand, serviceEnv } from '../../../src/lab/pod-env.ts';
import { podNamespace, hostVethName } from '../../../src/lab/node-network.ts';
import { podPhase, podStatus, type PodView } from '../../../src/lab/pod-status.ts';
import type { ContainerState } from '../../../src/lab/container.ts';

test('ipam: gateway first, pods from .2 round-robin (a released address is not the next one handed out), exhaustion is an error', (t) => {
  const ipam = new PodIpam('10.244.1.0/29');
  t.is(ipam.gateway, '10.244.1.1');
  t.deepEqual([ipam.allocate(), ipam.allocate()], ['10.244.1.2', '10.244.1.3']);
  ipam.release('10.244.1.2');
  t.deepEqual([ipam.allocate(), ipam.allocate(), ipam.allocate()], ['10.244.1.4', '10.244.1.5', '10.244.1.6']);
  t.is(ipam.allocate(), '10.244.1.2', 'wrapped around to the one free address');
  t.throws(() => ipam.allocate(), { code: 'FERRY_ERR_INVALID_ARG' });
  ipam.release('10.244.1.4');
  t.is(ipam.allocate(), '10.244.1.4');
  t.true(cidrContains(parseCidr('192.168.200.0/24'), '192.168.200.12'));
  t.false(cidrContains(parseCidr('192.168.200.0/24'), '192.168.201.12'));
  t.throws(() => new PodIpam('10.244.1.0'), { code: 'FERRY_ERR_INVALID_ARG' });
});

test('names: pod namespaces never fall under another node\'s prefix; veth names fit 15 characters', (t) => {
  const ns = podNamespace('fytest-x-', 'n', 'web-1', 'abcdef12-3456');
  t.is(ns, 'fytest-x-n_web-1_abcdef');
  t.false(ns.startsWith('fytest-x-n-1_'));
  t.true(hostVethName(ns).length <= 15);
});

test('images: ferry/agnhost (and upstream agnhost) run the built-in server with command+args; Debian\'s nginx and httpd, busybox, pause; others need a command', (t) => {
  t.true(isAgnhost('ferry/agnhost:2.1'));
  t.true(isAgnhost('registry.k8s.io/e2e-test-images/agnhost:2.43'));
  t.false(isAgnhost('example.com/agnhost-fork'));
  const argv = containerArgv({ name: 'c', image: 'ferry/agnhost', command: ['netexec'], args: ['--http-port=9000'] });
  t.deepEqual(argv.slice(-2), ['netexec', '--http-port=9000']);
  // The esbuild bundle under plain node (scripts/bundle.mjs builds it on demand).
  t.true(argv[1]!.endsWith('dist/ferry-agnhost.mjs'));
  t.deepEqual(containerArgv({ name: 'c', image: 'ferry/agnhost', args: ['/agnhost', 'serve-hostname'] }).slice(-1), ['serve-hostname']);
  t.throws(() => containerArgv({ name: 'c', image: 'ferry/agnhost' }), { code: 'FERRY_ERR_IMAGE' });

  t.is(imageName('docker.io/library/nginx:1.27@sha256:abc'), 'nginx');
  t.is(imageName('localhost:5000/tools/busybox:1.36'), 'localhost:5000/tools/busybox');
  t.is(imageName('registry.k8s.io/pause:3.9'), 'registry.k8s.io/pause');
  // nginx and httpd: the image's default command (or its server named explicitly) runs Debian's program
  // through its launcher (src/lab/images/), with the rest of the command as its arguments.
  const launcher = (name: string) => join(import.meta.dirname, '../../../src/lab/images', name);
  t.deepEqual(containerArgv({ name: 'c', image: 'nginx' }), [launcher('nginx'), '-g', 'daemon off;']);
  t.deepEqual(containerArgv({ name: 'c', image: 'nginx:1.27-alpine', args: ['nginx', '-g', 'daemon off; worker_processes 2;'] }), [launcher('nginx'), '-g', 'daemon off; worker_processes 2;']);
  t.deepEqual(containerArgv({ name: 'c', image: 'docker.io/library/nginx', command: ['nginx'] }), [launcher('nginx')]);
  t.deepEqual(containerArgv({ name: 'c', image: 'httpd:2.4' }), [launcher('httpd')]);
  // Anything else in those images runs as a host program; busybox's CMD is sh; args alone replace it.
  t.deepEqual(containerArgv({ name: 'c', image: 'nginx', command: ['sh', '-c', 'echo hi'] }), ['sh', '-c', 'echo hi']);
  t.deepEqual(containerArgv({ name: 'c', image: 'busybox' }), ['sh']);
  t.deepEqual(containerArgv({ name: 'c', image: 'busybox:1.36', args: ['sleep', '3600'] }), ['sleep', '3600']);
  t.deepEqual(containerArgv({ name: 'c', image: 'busybox', command: ['sleep'], args: ['10'] }), ['sleep', '10']);
  t.deepEqual(containerArgv({ name: 'c', image: 'registry.k8s.io/pause:3.9' }), ['sleep', 'infinity']);
  const unknown = t.throws(() => containerArgv({ name: 'c', image: 'redis:7' }), { code: 'FERRY_ERR_IMAGE' }) as ImageError;
  t.is(unknown.reason, 'ErrImagePull');
  t.regex(unknown.message, /"redis:7" is not available in the ferry lab/);
});

const svc = (name: string, ns: string, ip: string, ports: Array<{ name?: string; port: number; protocol?: string }>): Service => ({ metadata: { name, namespace: ns }, spec: { clusterIP: ip, ports } });

test('service environment variables as kubelet writes them', (t) => {
  const env = serviceEnv([svc('redis-master', 'default', '10.0.0.11', [{ name: 'redis', port: 6379 }, { name: 'metrics', port: 9121, protocol: 'UDP' }]), svc('headless', 'default', 'None', [{ port: 80 }])]);
  t.like(env, {
    REDIS_MASTER_SERVICE_HOST: '10.0.0.11',
    REDIS_MASTER_SERVICE_PORT: '6379',
    REDIS_MASTER_SERVICE_PORT_REDIS: '6379',
    REDIS_MASTER_SERVICE_PORT_METRICS: '9121',
    REDIS_MASTER_PORT: 'tcp://10.0.0.11:6379',
    REDIS_MASTER_PORT_6379_TCP: 'tcp://10.0.0.11:6379',
    REDIS_MASTER_PORT_6379_TCP_PROTO: 'tcp',
    REDIS_MASTER_PORT_6379_TCP_PORT: '6379',
    REDIS_MASTER_PORT_6379_TCP_ADDR: '10.0.0.11',
    REDIS_MASTER_PORT_9121_UDP: 'udp://10.0.0.11:9121',
  });
  t.false('HEADLESS_SERVICE_HOST' in env);
});

test('container env: own namespace\'s services plus kubernetes; fieldRef; $(VAR) expansion', (t) => {
  const pod: Pod = { metadata: { name: 'p', namespace: 'team', labels: { app: 'x' } }, spec: { nodeName: 'node-a', containers: [] } };
  const services = [svc('web', 'team', '10.0.0.5', [{ port: 80 }]), svc('other', 'elsewhere', '10.0.0.6', [{ port: 80 }]), svc('kubernetes', 'default', '10.0.0.1', [{ name: 'https', port: 443 }])];
  const { env, errors } = containerEnv(pod, {
    name: 'c', image: 'x',
    env: [
      { name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'URL', value: 'http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/$(ME)/$$(ME)/$(NOPE)' },
      { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ],
  }, services, '10.244.1.2', '192.168.200.11');
  t.is(env.WEB_SERVICE_HOST, '10.0.0.5');
  t.is(env.KUBERNETES_SERVICE_HOST, '10.0.0.1');
  t.false('OTHER_SERVICE_HOST' in env);
  t.like(env, { ME: 'p', IP: '10.244.1.2', APP: 'x', URL: 'http://10.0.0.5:80/p/$(ME)/$(NOPE)' });
  t.is(errors.length, 1);
  t.is(expand('$(A)$(B)', { A: '1' }), '1$(B)');
});

const at = new Date('2026-01-01T00:00:00Z');
const running: ContainerState = { kind: 'running', startedAt: at };
const exited = (code: number): ContainerState => ({ kind: 'terminated', exitCode: code, reason: code ? 'Error' : 'Completed', startedAt: at, finishedAt: at });
const view = (states: Array<{ state: ContainerState; last?: ContainerState; ready?: boolean }>, restartPolicy: PodView['restartPolicy'] = 'Always'): PodView => ({
  containers: states.map((s, i) => ({ name: `c${i}`, image: 'x', state: s.state, lastState: s.last, restartCount: s.last ? 1 : 0, ready: s.ready ?? s.state.kind === 'running', pid: 1 })),
  restartPolicy, podIP: '10.244.1.2', hostIP: '192.168.200.11', startTime: at,
});

const phaseCases: Array<{ name: string; v: PodView; want: string }> = [
  { name: 'creating', v: view([{ state: { kind: 'waiting', reason: 'ContainerCreating' } }]), want: 'Pending' },
  { name: 'running', v: view([{ state: running }]), want: 'Running' },
  { name: 'crash loop stays Running', v: view([{ state: { kind: 'waiting', reason: 'CrashLoopBackOff' }, last: exited(1) }]), want: 'Running' },
  { name: 'Never, all succeeded', v: view([{ state: exited(0) }], 'Never'), want: 'Succeeded' },
  { name: 'Never, one failed', v: view([{ state: exited(0) }, { state: exited(2) }], 'Never'), want: 'Failed' },
  { name: 'OnFailure, succeeded', v: view([{ state: exited(0) }], 'OnFailure'), want: 'Succeeded' },
];
for (const tc of phaseCases) test(`pod phase: ${tc.name}`, (t) => t.is(podPhase(tc.v), tc.want));

test('pod status: IPs, conditions, container statuses; transition times kept', (t) => {
  const s = podStatus(view([{ state: running, ready: false }]), undefined, at);
  t.like(s, { phase: 'Running', podIP: '10.244.1.2', podIPs: [{ ip: '10.244.1.2' }], hostIP: '192.168.200.11' });
  t.like(s.conditions?.find((c) => c.type === 'Ready'), { status: 'False', reason: 'ContainersNotReady' });
  t.like(s.containerStatuses?.[0], { name: 'c0', ready: false, started: true, restartCount: 0, containerID: 'ferry://1', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } });
  const later = new Date('2026-01-01T00:05:00Z');
  const s2 = podStatus(view([{ state: running, ready: true }]), s, later);
  t.is(s2.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-01T00:05:00Z');
  t.is(s2.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, '2026-01-01T00:00:00Z');
});
