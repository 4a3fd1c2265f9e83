import test from 'ava';
import { decodeKubeProtobuf } from '../../../../src/kube/protobuf/envelope.ts';
import { ProtobufDecodeError, ProtobufUnsupportedError } from '../../../../src/kube/protobuf/errors.ts';
import { bytes, entry, envelope, int, key, msg, str } from './wire-builder.ts';

const meta = (...parts: number[][]): number[] => msg(1, ...parts);

interface Case {
  readonly name: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly raw: number[];
  readonly want: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'strings, int64, empty strings omitted (Go writes every non-pointer field), zero Time as null',
    apiVersion: 'v1', kind: 'Namespace',
    raw: [...meta(str(1, 'n1'), str(2, ''), int(7, 3), msg(8)), ...msg(2), ...msg(3, str(1, ''))],
    want: { metadata: { name: 'n1', generation: 3, creationTimestamp: null }, spec: {}, status: {} },
  },
  {
    name: 'Time as RFC3339 seconds',
    apiVersion: 'v1', kind: 'Namespace',
    raw: meta(str(1, 'n1'), msg(9, int(1, 1700000000), int(2, 5))),
    want: { metadata: { name: 'n1', deletionTimestamp: '2023-11-14T22:13:20Z' } },
  },
  {
    name: 'string maps, repeated strings and nested repeated messages',
    apiVersion: 'v1', kind: 'Namespace',
    raw: meta(
      entry(11, 'app', 'web'), entry(11, 'tier', ''), entry(12, 'note', 'x'),
      msg(13, str(1, 'Deployment'), str(3, 'web'), str(4, 'u1'), str(5, 'apps/v1'), int(6, 1), int(7, 0)),
      str(14, 'a/b'), str(14, 'c/d'),
    ),
    want: {
      metadata: {
        labels: { app: 'web', tier: '' }, annotations: { note: 'x' },
        ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'u1', apiVersion: 'apps/v1', controller: true, blockOwnerDeletion: false }],
        finalizers: ['a/b', 'c/d'],
      },
    },
  },
  {
    name: 'bytes map values as base64',
    apiVersion: 'v1', kind: 'ConfigMap',
    raw: [...meta(str(1, 'c1')), ...entry(2, 'a', 'b'), ...entry(3, 'bin', [0, 255, 1])],
    want: { metadata: { name: 'c1' }, data: { a: 'b' }, binaryData: { bin: 'AP8B' } },
  },
  {
    name: 'IntOrString as number or string, int32, pointer zero kept',
    apiVersion: 'v1', kind: 'Service',
    raw: msg(2,
      msg(1, str(1, 'http'), str(2, 'TCP'), int(3, 80), msg(4, int(1, 0), int(2, 8080), str(3, '')), int(5, 0)),
      msg(1, str(1, 'named'), int(3, 81), msg(4, int(1, 1), int(2, 0), str(3, 'web'))),
      str(4, 'NodePort'), int(20, 0), msg(14, msg(1, int(1, 0))),
    ),
    want: {
      spec: {
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }, { name: 'named', port: 81, targetPort: 'web' }],
        type: 'NodePort', allocateLoadBalancerNodePorts: false, sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
      },
    },
  },
  {
    name: 'negative int64 (ten-byte varint, no zigzag)',
    apiVersion: 'v1', kind: 'Pod',
    raw: msg(2, int(5, -1n)),
    want: { spec: { activeDeadlineSeconds: -1 } },
  },
  {
    name: 'pod: containers, quantities, probes (inline handler), env, volumes (inline source), tolerations, affinity',
    apiVersion: 'v1', kind: 'Pod',
    raw: msg(2,
      msg(1, str(1, 'cfg'), msg(2, msg(19, msg(1, str(1, 'c1')), int(3, 420)))),
      msg(1, str(1, 'tmp'), msg(2, msg(2, str(1, 'Memory'), msg(2, str(1, '64Mi'))))),
      msg(2,
        str(1, 'app'), str(2, 'ferry/agnhost'), str(4, 'netexec'), str(4, '--http-port=8080'),
        msg(6, int(3, 8080), str(4, 'TCP')),
        msg(7, str(1, 'A'), str(2, '1')),
        msg(7, str(1, 'B'), msg(3, msg(3, msg(1, str(1, 'c1')), str(2, 'k')))),
        msg(19, msg(2, msg(1, str(1, 'c1')))),
        msg(8, entry(1, 'cpu', str(1, '500m')), entry(2, 'memory', str(1, '1Gi'))),
        msg(9, str(1, 'cfg'), str(3, '/etc/cfg')),
        msg(11, msg(1, msg(2, str(1, '/healthz'), msg(2, int(1, 0), int(2, 8080)))), int(4, 2)),
        msg(10, msg(1, msg(3, msg(1, int(1, 1), str(3, 'http'))))),
        msg(22, msg(1, msg(1, str(1, 'true')))),
      ),
      str(3, 'Never'), int(4, 0), entry(7, 'disk', 'ssd'), str(10, 'n1'), str(16, 'h'), str(17, 'sub'),
      msg(18, msg(1, msg(1, msg(1, msg(1, str(1, 'zone'), str(2, 'In'), str(3, 'a')))))),
      msg(22, str(1, 'k'), str(2, 'Exists'), str(4, 'NoSchedule')),
    ),
    want: {
      spec: {
        volumes: [
          { name: 'cfg', configMap: { name: 'c1', defaultMode: 420 } },
          { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
        ],
        containers: [{
          name: 'app', image: 'ferry/agnhost', args: ['netexec', '--http-port=8080'],
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'c1', key: 'k' } } }],
          envFrom: [{ configMapRef: { name: 'c1' } }],
          resources: { limits: { cpu: '500m' }, requests: { memory: '1Gi' } },
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }],
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2 },
          livenessProbe: { tcpSocket: { port: 'http' } },
          startupProbe: { exec: { command: ['true'] } },
        }],
        restartPolicy: 'Never', terminationGracePeriodSeconds: 0, nodeSelector: { disk: 'ssd' },
        nodeName: 'n1', hostname: 'h', subdomain: 'sub',
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } },
        tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
  },
  {
    name: 'deployment: replicas, selector, template, strategy with IntOrString percentages',
    apiVersion: 'apps/v1', kind: 'Deployment',
    raw: [
      ...meta(str(1, 'web')),
      ...msg(2,
        int(1, 4),
        msg(2, entry(1, 'app', 'web'), msg(2, str(1, 'tier'), str(2, 'NotIn'), str(3, 'db'))),
        msg(3, meta(entry(11, 'app', 'web')), msg(2, msg(2, str(1, 'agnhost'), str(2, 'ferry/agnhost'), str(3, 'netexec'), msg(8)))),
        msg(4, str(1, 'RollingUpdate'), msg(2, msg(1, int(1, 1), str(3, '25%')), msg(2, int(1, 0), int(2, 1)))),
      ),
      ...msg(3),
    ],
    want: {
      metadata: { name: 'web' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'agnhost', image: 'ferry/agnhost', command: ['netexec'], resources: {} }] } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
      },
      status: {},
    },
  },
  {
    name: 'replicaset: replicas 0 is kept (pointer)',
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    raw: msg(2, int(1, 0)),
    want: { spec: { replicas: 0 } },
  },
];

for (const c of cases) {
  test(`decodes ${c.name}`, (t) => {
    t.deepEqual(decodeKubeProtobuf(envelope(c.apiVersion, c.kind, c.raw)), { apiVersion: c.apiVersion, kind: c.kind, ...c.want });
  });
}

interface BadCase {
  readonly name: string;
  readonly body: Uint8Array;
  readonly error: typeof ProtobufDecodeError | typeof ProtobufUnsupportedError;
  readonly message: RegExp;
}

const goodPod = envelope('v1', 'Pod', msg(1, str(1, 'p1')));

const bad: BadCase[] = [
  { name: 'wrong magic', body: Uint8Array.from([0x6b, 0x38, 0x74, 0x00, ...goodPod.subarray(4)]), error: ProtobufDecodeError, message: /prefix/ },
  { name: 'shorter than the magic', body: Uint8Array.from([0x6b, 0x38]), error: ProtobufDecodeError, message: /prefix/ },
  { name: 'truncated length-delimited value', body: goodPod.subarray(0, goodPod.length - 1), error: ProtobufDecodeError, message: /runs past the end/ },
  { name: 'truncated varint', body: envelope('v1', 'Pod', [...msg(2, [...key(4, 0), 0x80])]), error: ProtobufDecodeError, message: /Pod\.spec: truncated varint/ },
  { name: 'wire type mismatch', body: envelope('v1', 'Pod', msg(1, int(1, 5))), error: ProtobufDecodeError, message: /Pod\.metadata\.name: wire type 0/ },
  { name: 'group wire type', body: envelope('v1', 'Pod', key(1, 3)), error: ProtobufDecodeError, message: /wire type 3/ },
  { name: 'invalid UTF-8', body: envelope('v1', 'Pod', msg(1, bytes(1, [0xff, 0xfe]))), error: ProtobufDecodeError, message: /UTF-8/ },
  { name: 'unknown field number, with its path', body: envelope('v1', 'Pod', msg(2, msg(2, str(1, 'c'), msg(15)))), error: ProtobufUnsupportedError, message: /Pod\.spec\.containers: Container field number 15/ },
  { name: 'unknown kind', body: envelope('v1', 'PodTemplate', msg(1, str(1, 's'))), error: ProtobufUnsupportedError, message: /kind PodTemplate of v1/ },
  { name: 'unknown envelope field', body: Uint8Array.from([...goodPod, ...str(9, 'x')]), error: ProtobufUnsupportedError, message: /Unknown field number 9/ },
  { name: 'content encoding', body: Uint8Array.from([...goodPod, ...str(3, 'gzip')]), error: ProtobufUnsupportedError, message: /contentEncoding gzip/ },
];

for (const c of bad) {
  test(`refuses ${c.name}`, (t) => {
    t.throws(() => decodeKubeProtobuf(c.body), { instanceOf: c.error, message: c.message });
  });
}

test('mutated and truncated bodies only ever raise the two typed errors', (t) => {
  const base = envelope('apps/v1', 'Deployment', cases.find((c) => c.kind === 'Deployment')!.raw);
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    const body = Uint8Array.from(base.subarray(0, 4 + rand(base.length - 3)));
    for (let j = rand(4); j >= 0; j--) body[4 + rand(Math.max(1, body.length - 4))] = rand(256);
    try {
      decodeKubeProtobuf(body);
    } catch (error) {
      if (!(error instanceof ProtobufDecodeError || error instanceof ProtobufUnsupportedError)) return t.fail(`untyped error ${String(error)}`);
    }
  }
  t.pass();
});
