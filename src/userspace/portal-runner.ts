import { chainsInSave, type IptablesRunner } from '../iptables/runner.ts';
import { renderJumps, renderRemoval } from './portal-rules.ts';

/**
 * PortalRunner applies portal rules to the kernel of the namespace the proxy
 * runs in, through the shared iptables toolkit (src/iptables: restore runner,
 * nft/legacy backend). Every change is one `iptables-restore --noflush`.
 */
export interface PortalRunner {
  /** restore feeds text to `iptables-restore --noflush` (one atomic transaction). */
  restore(text: string): Promise<void>;
  /** ensureJumps adds the jumps from PREROUTING/OUTPUT into the portal chains where missing. */
  ensureJumps(): Promise<void>;
  /** removeAll deletes the jumps and the portal chains; fine on a clean node. */
  removeAll(): Promise<void>;
}

export function createPortalRunner(iptables: IptablesRunner): PortalRunner {
  return {
    restore: (text) => iptables.restore(text),
    async ensureJumps() {
      const text = renderJumps(await iptables.save('nat'));
      if (text !== undefined) await iptables.restore(text);
    },
    async removeAll() {
      const dump = await iptables.save('nat');
      const text = renderRemoval(dump, chainsInSave(dump));
      if (text !== undefined) await iptables.restore(text);
    },
  };
}
