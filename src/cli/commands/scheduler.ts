import { defineCommand, commonFlags } from '../command.ts';
import { ApiClient } from '../../client/api-client.ts';
import { loadClientConfig } from '../../client/kubeconfig.ts';
import { SchedulerService } from '../../apiserver-stub/scheduler/service.ts';
import { InvalidArgumentError } from '../../util/errors.ts';

export default defineCommand({
  name: 'scheduler',
  summary: 'Run the scheduler: bind pending pods to nodes (kube-scheduler filter and score plugins)',
  flags: {
    server: { type: 'string', help: 'apiserver URL (https://, http:// or unix:///path/to/socket); overrides the kubeconfig' },
    kubeconfig: { type: 'string', help: 'path to a kubeconfig file' },
    'scheduler-name': { type: 'string', default: 'default-scheduler', help: 'schedule pods whose spec.schedulerName is this' },
    'percentage-of-nodes-to-score': { type: 'int', default: 0, help: 'share of nodes to find feasible before scoring; 0 = adaptive (50% − nodes/125, at least 5%), never fewer than 100 nodes' },
    ...commonFlags,
  },
  async run({ flags }) {
    const pct = flags['percentage-of-nodes-to-score'];
    if (pct < 0 || pct > 100) throw new InvalidArgumentError(`invalid --percentage-of-nodes-to-score ${pct}: must be between 0 and 100`);
    const client = new ApiClient(loadClientConfig({ kubeconfig: flags.kubeconfig, server: flags.server }), { userAgent: 'ferry-scheduler', connections: 64 });
    const service = new SchedulerService({ client, percentageOfNodesToScore: pct, schedulerName: flags['scheduler-name'] });
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await Promise.race([service.start(), stopped]);
    await stopped;
    await service.stop();
    await client.close();
    return 0;
  },
});
