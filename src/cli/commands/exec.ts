import { currentLab } from '../../lab/cluster/current.ts';
import { spawn } from 'node:child_process';
import { defineCommand } from '../command.ts';
import { openLab, targetNamespace } from '../../lab/cluster/client.ts';
import { callGuest } from '../../lab/cluster/guest-exec.ts';
import { InvalidArgumentError } from '../../util/errors.ts';

export default defineCommand({
  name: 'exec',
  summary: 'Run a command inside a lab pod\'s (or node\'s) network namespace, e.g. ferry exec web-abc -- curl -s web/hostname',
  usage: '<pod> | node/<node>  -- <command> [args...]',
  flags: {
    name: { type: 'string', help: 'lab name (default: the lab of $KUBECONFIG, else the only running lab, else lab)' },
    namespace: { type: 'string', default: 'default', help: 'Kubernetes namespace of the pod' },
    n: { type: 'string', help: 'short for --namespace' },
  },
  async run({ flags, positionals, rest }) {
    const [target] = positionals;
    if (!target || rest.length === 0) throw new InvalidArgumentError('usage: ferry exec <pod> [-n namespace] -- <command> [args...]');
    const { state, client } = openLab(currentLab(flags.name));
    let ns: string;
    try {
      ns = await targetNamespace(state, client, target, flags.n ?? flags.namespace);
    } finally {
      await client.close();
    }
    if (state.guest) {
      // An ipvs lab's namespaces live in its UML guest: the guest's exec agent runs the command (no stdin).
      const r = await callGuest(state.guest, { op: 'exec', ns, argv: rest }, { onOutput: (stream, chunk) => process[stream].write(chunk) });
      return r.code;
    }
    const child = spawn('ip', ['netns', 'exec', ns, ...rest], { stdio: 'inherit' });
    return new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
    });
  },
});
