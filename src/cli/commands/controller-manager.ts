import { readFileSync } from 'node:fs';
import { defineCommand, commonFlags } from '../command.ts';
import { ApiClient } from '../../client/api-client.ts';
import { loadClientConfig } from '../../client/kubeconfig.ts';
import { ControllerManager, CONTROLLER_NAMES } from '../../apiserver-stub/controllers/manager.ts';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE } from '../../apiserver-stub/controllers/endpointslice-reconcile.ts';

export default defineCommand({
  name: 'controller-manager',
  summary: 'Run the controllers: EndpointSlice, Endpoints, Deployment, ReplicaSet, Job, CronJob, DaemonSet, StatefulSet, node lifecycle, ServiceAccount, root CA publisher and the garbage collector',
  flags: {
    server: { type: 'string', help: 'apiserver URL (https://, http:// or unix:///path/to/socket); overrides the kubeconfig' },
    kubeconfig: { type: 'string', help: 'path to a kubeconfig file' },
    controllers: { type: 'list', default: [...CONTROLLER_NAMES], help: 'controllers to run' },
    'max-endpoints-per-slice': { type: 'int', default: DEFAULT_MAX_ENDPOINTS_PER_SLICE, help: 'maximum endpoints in one EndpointSlice' },
    'min-resync-period': { type: 'duration', default: '5m', help: 'informer resync period: every object is looked at again this often (kube-controller-manager defaults to 12h)' },
    'concurrent-service-endpoint-syncs': { type: 'int', default: 5, help: 'EndpointSlice workers' },
    'concurrent-endpoint-syncs': { type: 'int', default: 5, help: 'Endpoints workers' },
    'concurrent-replicaset-syncs': { type: 'int', default: 5, help: 'ReplicaSet workers' },
    'concurrent-deployment-syncs': { type: 'int', default: 5, help: 'Deployment workers' },
    'concurrent-job-syncs': { type: 'int', default: 5, help: 'Job workers' },
    'concurrent-cron-job-syncs': { type: 'int', default: 5, help: 'CronJob workers' },
    'concurrent-daemonset-syncs': { type: 'int', default: 2, help: 'DaemonSet workers' },
    'concurrent-statefulset-syncs': { type: 'int', default: 5, help: 'StatefulSet workers' },
    'concurrent-gc-syncs': { type: 'int', default: 20, help: 'garbage collector workers' },
    'node-monitor-grace-period': { type: 'duration', default: '40s', help: 'a node whose status is older than this is marked Unknown and tainted unreachable' },
    'root-ca-file': { type: 'string', help: 'the cluster CA (PEM), published in every namespace as the kube-root-ca.crt ConfigMap for in-cluster clients' },
    'node-monitor-period': { type: 'duration', default: '5s', help: 'how often node heartbeats are checked' },
    ...commonFlags,
  },
  async run({ flags }) {
    const client = new ApiClient(loadClientConfig({ kubeconfig: flags.kubeconfig, server: flags.server }), { userAgent: 'ferry-controller-manager', connections: 32 });
    const manager = new ControllerManager({
      client,
      controllers: flags.controllers,
      maxEndpointsPerSlice: flags['max-endpoints-per-slice'],
      resyncPeriodMs: flags['min-resync-period'],
      workers: {
        endpointslice: flags['concurrent-service-endpoint-syncs'],
        endpoints: flags['concurrent-endpoint-syncs'],
        replicaset: flags['concurrent-replicaset-syncs'],
        deployment: flags['concurrent-deployment-syncs'],
        garbagecollector: flags['concurrent-gc-syncs'],
      },
      workloads: { workers: { job: flags['concurrent-job-syncs'], cronjob: flags['concurrent-cron-job-syncs'], daemonset: flags['concurrent-daemonset-syncs'], statefulset: flags['concurrent-statefulset-syncs'] } },
      nodeMonitor: { gracePeriodMs: flags['node-monitor-grace-period'], periodMs: flags['node-monitor-period'] },
      ...(flags['root-ca-file'] ? { rootCa: readFileSync(flags['root-ca-file'], 'utf8') } : {}),
    });
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await Promise.race([manager.start(), stopped]);
    await stopped;
    await manager.stop();
    await client.close();
    return 0;
  },
});
