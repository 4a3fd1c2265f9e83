import type { ProxyState } from '../endpoints/proxy-state.ts';
import type { RenderOptions } from './service.ts';
import { TableModel } from './table-model.ts';

/** renderFullTransaction is the text of a full sync of `state` (what `nft -f` would load), for tests and benchmarks. */
export function renderFullTransaction(state: ProxyState, options: RenderOptions, nodePortIPs: readonly string[] = []): string {
  return new TableModel(options).full(state, nodePortIPs).text;
}
