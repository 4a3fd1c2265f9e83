import { execFile } from '../util/exec.ts';
import { getErrorMessage } from '../util/errors.ts';
import { PortalRulesError } from './errors.ts';
import { JUMP_RULES, PORTAL_CHAINS } from './portal-rules.ts';

/**
 * PortalRunner applies portal rules to the kernel of the namespace the proxy
 * runs in. It is a minimal runner private to the userspace mode until the
 * shared iptables toolkit (src/iptables, restore runner and nft/legacy
 * backend) lands; then this file gives way to it.
 */
export interface PortalRunner {
  /** restore feeds text to `iptables-restore --noflush` (one atomic transaction). */
  restore(text: string): Promise<void>;
  /** ensureJumps adds the jumps from PREROUTING/OUTPUT into the portal chains where missing. */
  ensureJumps(): Promise<void>;
  /** removeAll deletes the jumps and the portal chains; fine on a clean node. */
  removeAll(): Promise<void>;
}

/** createPortalRunner drives the iptables binaries of `backend` (undefined: whatever `iptables` is). */
export function createPortalRunner(backend: 'nft' | 'legacy' | undefined): PortalRunner {
  const suffix = backend ? `-${backend}` : '';
  const iptables = `iptables${suffix}`;
  const restoreBin = `iptables${suffix}-restore`;
  const run = (args: readonly string[]) => execFile(iptables, ['-w', '5', '-t', 'nat', ...args], { allowFailure: true, timeoutMs: 30_000 });

  return {
    async restore(text) {
      const r = await execFile(restoreBin, ['-w', '5', '--noflush'], { input: text, allowFailure: true, timeoutMs: 30_000 });
      if (r.code !== 0) throw new PortalRulesError(`${restoreBin} exited ${r.code}: ${r.stderr.trim()}`);
    },
    async ensureJumps() {
      for (const jump of JUMP_RULES) {
        const check = await run(['-C', jump.chain, ...jump.args]);
        if (check.code === 0) continue;
        const add = await run(['-A', jump.chain, ...jump.args]);
        if (add.code !== 0) throw new PortalRulesError(`cannot add jump ${jump.chain} → ${jump.args.at(-1)}: ${add.stderr.trim()}`);
      }
    },
    async removeAll() {
      for (const jump of JUMP_RULES) {
        // A jump may have been added more than once by an older run; delete until none is left.
        for (let i = 0; i < 16; i++) if ((await run(['-D', jump.chain, ...jump.args])).code !== 0) break;
      }
      for (const chain of PORTAL_CHAINS) {
        const exists = await run(['-S', chain]);
        if (exists.code !== 0) continue;
        await run(['-F', chain]);
        const del = await run(['-X', chain]);
        if (del.code !== 0) throw new PortalRulesError(`cannot delete chain ${chain}: ${getErrorMessage(del.stderr.trim())}`);
      }
    },
  };
}
