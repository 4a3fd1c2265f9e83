import type { Logger } from '../util/log.ts';
import { conntrackDeletions, runConntrackDeletions, type ConntrackDeletion } from './conntrack.ts';
import type { ProxyState, ServicePort } from './proxy-state.ts';
import type { ServiceHealthServer } from './service-health.ts';

/**
 * SyncHousekeeping is what every backend does once a sync has taken, as
 * kube-proxy's proxiers do at the end of syncProxyRules: serve the health
 * check node ports of the new state, then delete the stale UDP conntrack
 * entries of what changed since the last sync that took. Its failures are
 * logged, not fatal: the rules are in place.
 */
export class SyncHousekeeping {
  readonly #health: ServiceHealthServer;
  readonly #conntrack: (deletions: readonly ConntrackDeletion[]) => Promise<Error[]>;
  readonly #log: Logger;
  #previousServices: ReadonlyMap<string, ServicePort> = new Map();

  constructor(health: ServiceHealthServer, log: Logger, conntrack: (deletions: readonly ConntrackDeletion[]) => Promise<Error[]> = runConntrackDeletions) {
    this.#health = health;
    this.#log = log;
    this.#conntrack = conntrack;
  }

  async afterSync(state: ProxyState): Promise<void> {
    for (const err of await this.#health.syncFromState(state)) this.#log.warn('health check node port', { err: err.message });
    for (const err of await this.#conntrack(conntrackDeletions(state, this.#previousServices))) this.#log.warn('conntrack cleanup failed', { err: err.message });
    this.#previousServices = state.services;
  }
}
