import type { ApiClient } from '../../client/api-client.ts';
import { resources } from '../../client/resources.ts';
import { createLogger } from '../../util/log.ts';
import { Controller } from './controller.ts';
import type { SharedInformers } from './informers.ts';
import { desiredTaints, isStale, taintsEqual, unknownConditions } from './node-lifecycle-reconcile.ts';

const log = createLogger('node-lifecycle-controller');

export interface NodeLifecycleControllerConfig {
  client: ApiClient;
  informers: SharedInformers;
  /** --node-monitor-grace-period: heartbeat age after which a node is Unknown. */
  gracePeriodMs: number;
  /** --node-monitor-period: how often every node's heartbeat is checked. */
  monitorPeriodMs: number;
}

/**
 * NodeLifecycleController marks nodes whose agent went silent Ready=Unknown
 * and keeps the condition taints (not-ready, unreachable, unschedulable) in
 * step, so the scheduler stops placing pods on a node that is gone.
 */
export class NodeLifecycleController {
  readonly controller: Controller;
  private readonly cfg: NodeLifecycleControllerConfig;
  private timer: NodeJS.Timeout | undefined;

  constructor(cfg: NodeLifecycleControllerConfig) {
    this.cfg = cfg;
    this.controller = new Controller('nodelifecycle', (name) => this.sync(name));
    const enqueue = (n: { metadata?: { name?: string } }) => this.controller.enqueue(n.metadata?.name ?? '');
    cfg.informers.nodes.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
  }

  run(): void {
    this.controller.run(1);
    this.timer = setInterval(() => {
      for (const n of this.cfg.informers.nodes.store.list()) this.controller.enqueue(n.metadata?.name ?? '');
    }, this.cfg.monitorPeriodMs);
    this.timer.unref();
  }

  /** halt stops the periodic check; the manager then stops the work queue. */
  halt(): void {
    clearInterval(this.timer);
  }

  async sync(name: string): Promise<void> {
    const node = this.cfg.informers.nodes.store.get(name);
    if (!node) return;
    const client = this.cfg.client;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'Unknown' && isStale(node, Date.now(), this.cfg.gracePeriodMs)) {
      log.info(1, 'Node stopped posting status, marking it Unknown', { node: name, lastHeartbeat: ready.lastHeartbeatTime });
      await client.patch(resources.nodes, name, { status: { conditions: unknownConditions(node, new Date()) } }, 'merge', { subresource: 'status' });
      return;
    }
    const want = desiredTaints(node);
    if (taintsEqual(node.spec?.taints ?? [], want)) return;
    log.info(2, 'Updating node taints', { node: name, taints: want.map((t) => `${t.key}:${t.effect}`) });
    await client.patch(resources.nodes, name, { spec: { taints: want }, metadata: { resourceVersion: node.metadata?.resourceVersion } }, 'merge');
  }
}
