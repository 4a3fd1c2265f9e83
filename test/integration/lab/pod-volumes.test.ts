import test from 'ava';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { ConfigMap, Event, Pod } from 'kubernetes-types/core/v1.js';
import { resources } from '../../../src/client/resources.ts';
import { listNamespaces } from '../../../src/lab/netns.ts';
import { POD_DIR_ROOT } from '../../../src/lab/pod-volumes.ts';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { oneNodeLab, TEST_ROOT_CA, until } from './node-fixture.ts';

// Issue 21: what the deploy/ manifests need from the node agent. A
// hostNetwork pod runs in the node's namespace with the node's address and
// host name; configMap volumes (all keys, or items to paths, readOnly),
// emptyDir and hostPath are bind-mounted in the container's own mount
// namespace (the host sees an empty mount point, never the files); a pod
// whose ConfigMap is missing waits (FailedMount) and starts once it exists;
// $(VAR) in command is expanded from the container's environment; the
// `ferry` image runs the checkout's ferry; the ServiceAccount volume holds a
// token bound to the pod, the CA and the namespace; an unsupported volume
// kind is a CreateContainerConfigError naming it.

const rootOnly = isRoot ? test.serial : test.skip;
const mountRoot = `/run/ferry-volumes-test-${process.pid}`;
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const configMap = (name: string, data: Record<string, string>): ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });

rootOnly('hostNetwork pods run in the node namespace; configMap, emptyDir and hostPath volumes are mounted inside the container only; a missing ConfigMap is waited for', async (t) => {
  t.teardown(() => rmSync(mountRoot, { recursive: true, force: true }));
  const lab = await oneNodeLab(t);
  const script = [
    'ip -4 -o addr show eth0 | grep -o "inet [0-9.]*"',
    'echo "host $(hostname) node $NODE"',
    `cat ${mountRoot}/all/config.conf ${mountRoot}/all/other; ls ${mountRoot}/picked`,
    `cat ${mountRoot}/picked/sub/renamed.conf`,
    `touch ${mountRoot}/all/new 2>/dev/null && echo writable || echo read-only`,
    `echo shared > ${mountRoot}/scratch/file && cat ${mountRoot}/scratch/file`,
    `test -d ${mountRoot}/host-lib-modules/. && echo hostPath`,
    'sleep 3600',
  ].join('; ');
  const pod: Pod = {
    metadata: { name: 'hostnet' },
    spec: {
      hostNetwork: true,
      containers: [{
        name: 'main', image: 'busybox', command: ['sh', '-c', script.replace('$NODE', '$(NODE_NAME)')],
        env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
        volumeMounts: [
          { name: 'all', mountPath: `${mountRoot}/all`, readOnly: true },
          { name: 'picked', mountPath: `${mountRoot}/picked` },
          { name: 'scratch', mountPath: `${mountRoot}/scratch` },
          { name: 'modules', mountPath: `${mountRoot}/host-lib-modules`, readOnly: true },
        ],
      }],
      volumes: [
        { name: 'all', configMap: { name: 'proxy-config' } },
        { name: 'picked', configMap: { name: 'proxy-config', items: [{ key: 'config.conf', path: 'sub/renamed.conf' }] } },
        { name: 'scratch', emptyDir: {} },
        { name: 'modules', hostPath: { path: '/usr/lib' } },
      ],
    },
  };
  await lab.createPod(pod);
  // The ConfigMap comes later: the pod waits for it, as kubelet's FailedMount retries.
  await until('FailedMount event', async () => {
    const events = await lab.client.list<Event>(resources.events, { namespace: 'default' });
    return events.items.find((e) => e.reason === 'FailedMount' && /configmap "proxy-config" not found/.test(e.message ?? ''));
  });
  t.is((await lab.pod('hostnet')).status?.containerStatuses?.[0]?.state?.running, undefined, 'not started before its volume exists');
  await lab.client.create(resources.configmaps, configMap('proxy-config', { 'config.conf': 'mode: nftables\n', other: 'second key\n' }));

  const logs = await until('the script ran', async () => {
    const r = await lab.k(['logs', 'hostnet']);
    return /hostPath/.test(r.stdout) && r.stdout;
  });
  t.regex(logs, /^inet 192\.168\.200\.11$/m, 'the node\'s address: the node namespace');
  t.regex(logs, /^host node-a node node-a$/m, 'the node\'s host name; $(NODE_NAME) expanded from spec.nodeName');
  t.regex(logs, /^mode: nftables\nsecond key\nsub$/m, 'every key of the ConfigMap; items put only the one asked for at its path');
  t.regex(logs, /^mode: nftables\nread-only$/m, 'a readOnly mount refuses writes');
  t.regex(logs, /^shared$/m);
  const running = await lab.pod('hostnet');
  t.is(running.status?.podIP, '192.168.200.11');
  t.is(running.status?.hostIP, '192.168.200.11');
  // The host has the empty mount points only: the mounts stayed in the container.
  t.deepEqual(readdirSync(`${mountRoot}/all`), []);
  t.deepEqual(readdirSync(`${mountRoot}/scratch`), []);

  await lab.client.delete(resources.pods, 'hostnet', { namespace: 'default' });
  await until('pod gone', async () => !(await lab.client.list<Pod>(resources.pods, { namespace: 'default' })).items.some((p) => p.metadata?.name === 'hostnet'));
  t.false(readdirSync(POD_DIR_ROOT).some((d) => d.includes('_hostnet_')), 'its volumes are removed with it');
});

rootOnly('the ferry image runs this checkout\'s ferry; an unsupported volume kind fails the container naming it', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({ metadata: { name: 'ferry' }, spec: { restartPolicy: 'Never', containers: [{ name: 'ferry', image: `ferry:v${pkg.version}`, command: ['ferry', 'version'] }] } });
  await lab.createPod({
    metadata: { name: 'nfs' },
    spec: { containers: [{ name: 'c', image: 'busybox', command: ['true'], volumeMounts: [{ name: 's', mountPath: '/s' }] }], volumes: [{ name: 's', nfs: { server: '192.0.2.1', path: '/export' } }] },
  });
  await until('ferry pod done', async () => (await lab.pod('ferry')).status?.phase === 'Succeeded');
  t.regex((await lab.k(['logs', 'ferry'])).stdout, new RegExp(`^ferry v${pkg.version.replace(/\./g, '\\.')} \\(node v`));
  const waiting = await until('nfs pod waiting', async () => (await lab.pod('nfs')).status?.containerStatuses?.[0]?.state?.waiting);
  t.is(waiting.reason, 'CreateContainerConfigError');
  t.regex(waiting.message ?? '', /nfs volumes are not supported in the lab/);
  t.false(existsSync('/s'), 'nothing mounted or made for it');
});

rootOnly('mount points missing on the host are made in an overlay of the container\'s own (the pod\'s /etc/hosts kept); an edited ConfigMap reaches the running container\'s volume (changed keys rewritten, removed keys gone); a subPath mount keeps its file', async (t) => {
  const [etcDir, shareDir] = [`/etc/ferry-volumes-test-${process.pid}`, `/usr/share/ferry-volumes-test-${process.pid}`];
  t.teardown(() => [etcDir, shareDir].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const lab = await oneNodeLab(t);
  await lab.client.create(resources.configmaps, configMap('live', { a: 'one\n', b: 'bee\n' }));
  await lab.createPod({
    metadata: { name: 'reader' },
    spec: {
      containers: [{
        name: 'c', image: 'busybox', command: ['sleep', '3600'],
        volumeMounts: [{ name: 'cfg', mountPath: `${etcDir}/live` }, { name: 'cfg', mountPath: `${shareDir}/pinned-a`, subPath: 'a' }],
      }],
      volumes: [{ name: 'cfg', configMap: { name: 'live' } }],
    },
  });
  const read = async () => (await lab.k(['exec', 'reader', '--', 'sh', '-c', `ls ${etcDir}/live; cat ${etcDir}/live/a ${shareDir}/pinned-a`])).stdout;
  // An exec can land while the container's mounts are still being made: wait for both mounts' files.
  t.is(await until('reader running with its mounts', async () => {
    const out = await read();
    return out.split('one').length === 3 && out;
  }), 'a\nb\none\none\n');
  t.false(existsSync(etcDir), 'nothing made on the host under /etc');
  t.false(existsSync(shareDir), 'nor under /usr/share');
  const hosts = (await lab.k(['exec', 'reader', '--', 'cat', '/etc/hosts'])).stdout;
  t.regex(hosts, /^10\.244\.1\.\d+\treader$/m, 'the pod\'s own /etc/hosts, through the overlay on /etc');
  // The ServiceAccount volume admission added: a token bound to this pod, the cluster CA, the namespace.
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const account = (await lab.k(['exec', 'reader', '--', 'sh', '-c', `cat ${sa}/namespace; echo; cat ${sa}/ca.crt; cat ${sa}/token`])).stdout.split('\n');
  t.is(account[0], 'default');
  t.is(`${account.slice(1, 4).join('\n')}\n`, TEST_ROOT_CA);
  const claims = JSON.parse(Buffer.from(account[4]!.split('.')[1]!, 'base64url').toString()) as { sub: string; 'kubernetes.io': { pod: { name: string } } };
  t.is(claims.sub, 'system:serviceaccount:default:default');
  t.is(claims['kubernetes.io'].pod.name, 'reader');
  const cm = await lab.client.get<ConfigMap>(resources.configmaps, 'live', { namespace: 'default' });
  await lab.client.update(resources.configmaps, { ...cm, data: { a: 'two\n' } });
  t.is(await until('the edit in the volume', async () => {
    const out = await read();
    return out.includes('two') && out;
  }, 10_000), 'a\ntwo\none\n');
});

rootOnly('a pod deleted while it waits for its ConfigMap goes away with its namespace', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({ metadata: { name: 'waiting' }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], volumeMounts: [{ name: 'v', mountPath: '/etc/never' }] }], volumes: [{ name: 'v', configMap: { name: 'never-made' } }] } });
  await until('FailedMount event', async () => (await lab.client.list<Event>(resources.events, { namespace: 'default' })).items.some((e) => e.reason === 'FailedMount'));
  // This pod's namespace ends in its uid's first six hex digits (node-network.ts podNamespace).
  const suffix = `_waiting_${(await lab.pod('waiting')).metadata!.uid!.replace(/-/g, '').slice(0, 6)}`;
  const mine = async () => (await listNamespaces()).filter((n) => n.endsWith(suffix));
  t.is((await mine()).length, 1, 'its network is made before its volumes');
  await lab.client.delete(resources.pods, 'waiting', { namespace: 'default' });
  await until('pod gone', async () => !(await lab.client.list<Pod>(resources.pods, { namespace: 'default' })).items.some((p) => p.metadata?.name === 'waiting'));
  t.deepEqual(await mine(), [], 'its namespace went with it');
  t.false(existsSync('/etc/never'));
});
