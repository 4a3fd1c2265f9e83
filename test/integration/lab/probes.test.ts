import test from 'ava';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { oneNodeLab, until } from './node-fixture.ts';

const rootOnly = isRoot ? test.serial : test.skip;

rootOnly('grpc readiness probe: agnhost grpc-health-checking is ready while SERVING and not after /make-not-serving', async (t) => {
  const lab = await oneNodeLab(t);
  await lab.createPod({
    metadata: { name: 'grpc' },
    spec: {
      containers: [{
        name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.40', args: ['grpc-health-checking', '--port=5000', '--http-port=8080'],
        readinessProbe: { grpc: { port: 5000 }, periodSeconds: 1, failureThreshold: 1 },
      }],
    },
  });
  const ready = async (want: boolean) => until(`ready=${want}`, async () => (await lab.pod('grpc')).status?.containerStatuses?.[0]?.ready === want);
  await ready(true);
  // The apiserver defaults probes as kube's: timings, and a grpc probe's service "" (kubectl describe needs it).
  t.like((await lab.pod('grpc')).spec?.containers[0]?.readinessProbe, { grpc: { port: 5000, service: '' }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 1 });
  const flip = await lab.k(['exec', 'grpc', '--', 'curl', '-s', 'http://127.0.0.1:8080/make-not-serving']);
  t.is(flip.stdout, 'NOT_SERVING', flip.stderr);
  await ready(false);
  const events = await until('unhealthy event', async () => {
    const r = await lab.k(['describe', 'pod', 'grpc']);
    return r.stdout.includes('Readiness probe failed') && r.stdout;
  });
  t.regex(events, /Readiness probe failed: service unhealthy \(responded with "NOT_SERVING"\)/);
  await lab.k(['exec', 'grpc', '--', 'curl', '-s', 'http://127.0.0.1:8080/make-serving']);
  await ready(true);
  t.regex((await lab.k(['logs', 'grpc'])).stdout, /^gRPC server starting to listen on :5000\n/);
});
