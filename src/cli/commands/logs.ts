import { currentLab } from '../../lab/cluster/current.ts';
import { createReadStream, existsSync, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from '../command.ts';
import { labPaths, readState } from '../../lab/cluster/state.ts';
import { openLab } from '../../lab/cluster/client.ts';
import { proxyPodOn } from '../../lab/cluster/data-plane.ts';
import { InvalidArgumentError } from '../../util/errors.ts';

/** proxyPodHint: in a lab whose proxies are the ferry-proxy DaemonSet's pods, where `proxy-<node>`'s log is instead. */
async function proxyPodHint(name: string, component: string): Promise<string | undefined> {
  const state = readState(labPaths(name));
  const node = state?.proxies === 'pods' ? state.plan.nodes.find((n) => component === `proxy-${n.name}`) : undefined;
  if (!state || !node) return undefined;
  const { client } = openLab(name);
  try {
    const pod = await proxyPodOn(client, node.name).catch(() => undefined);
    const which = pod ? pod.metadata?.name : `$(kubectl -n kube-system get pods -l k8s-app=ferry-proxy --field-selector spec.nodeName=${node.name} -o name)`;
    return `the proxies of lab ${name} run as pods of the ferry-proxy DaemonSet: kubectl -n kube-system logs ${which}`;
  } finally {
    await client.close();
  }
}

export default defineCommand({
  name: 'logs',
  summary: 'Print the log of one lab component (apiserver, controller-manager, scheduler, relay, node-<node>; proxy-<node> in an ipvs lab, elsewhere the proxies are pods)',
  usage: '<component>',
  flags: {
    name: { type: 'string', help: 'lab name (default: the lab of $KUBECONFIG, else the only running lab, else lab)' },
    follow: { type: 'boolean', default: false, help: 'keep printing what is appended (like tail -f)' },
  },
  async run({ flags, positionals }) {
    const name = currentLab(flags.name);
    const paths = labPaths(name);
    const available = existsSync(paths.logs) ? readdirSync(paths.logs).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4)) : [];
    const [component] = positionals;
    if (component && !available.includes(component)) {
      const hint = await proxyPodHint(name, component);
      if (hint) throw new InvalidArgumentError(hint);
    }
    if (!component || !available.includes(component)) {
      throw new InvalidArgumentError(`${component ? `no log for ${JSON.stringify(component)}` : 'name a component'}; lab ${name} has: ${available.join(', ') || 'none'}`);
    }
    const file = join(paths.logs, `${component}.log`);
    let offset = 0;
    const copy = () => new Promise<void>((resolve) => {
      const size = statSync(file).size;
      if (size < offset) offset = 0;
      if (size === offset) return resolve();
      createReadStream(file, { start: offset, end: size - 1 }).on('end', resolve).pipe(process.stdout, { end: false });
      offset = size;
    });
    await copy();
    if (!flags.follow) return 0;
    const watcher = watch(file, () => void copy());
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    watcher.close();
    return 0;
  },
});
