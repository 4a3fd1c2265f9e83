import { rmSync } from 'node:fs';
import { defineCommand } from '../command.ts';
import { serveGuestExec } from '../../lab/cluster/guest-exec.ts';
import { componentSpecs, startNodeHalf } from '../../lab/cluster/lab.ts';
import { setupControlPlaneNetwork } from '../../lab/cluster/network.ts';
import { startUnixRelay, stopRelay } from '../../lab/cluster/relay.ts';
import { labPaths, readState, type ComponentRecord } from '../../lab/cluster/state.ts';
import { restartProcess, startFresh, stopComponents, type ComponentSpec } from '../../lab/cluster/supervisor.ts';
import { GUEST_API_SOCKET, GUEST_EXEC_PORT, GUEST_LINK } from '../../lab/cluster/uml.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';

const log = createLogger('lab-guest');

export default defineCommand({
  name: 'lab-guest',
  summary: 'Inside an ipvs lab\'s User-Mode Linux guest: run the node half of the lab (started by ferry up --mode ipvs, not by hand)',
  flags: {
    name: { type: 'string', help: 'lab name (required): the guest reads the lab\'s state.json that ferry up wrote' },
  },
  async run({ flags }) {
    if (!flags.name) throw new InvalidArgumentError('--name is required');
    const paths = labPaths(flags.name);
    const state = readState(paths);
    if (!state) throw new InvalidArgumentError(`no state for lab ${flags.name} under ${paths.dir}`);
    rmSync(GUEST_API_SOCKET, { force: true });
    const relay = await startUnixRelay(GUEST_API_SOCKET, GUEST_LINK.host, state.apiPort);
    const components = new Map<string, ComponentRecord>();
    const start = (spec: ComponentSpec) => {
      const rec = startFresh(spec);
      components.set(rec.name, rec);
      log.info(0, 'Started', { component: rec.name, pid: rec.pid });
      return rec;
    };
    const restart = async (name: string) => {
      const old = components.get(name);
      if (!old) throw new InvalidArgumentError(`no component ${name} in the guest (have ${[...components.keys()].join(', ')})`);
      const rec = await restartProcess(old);
      components.set(name, rec);
      log.info(0, 'Restarted', { component: name, pid: rec.pid });
    };
    const agent = await serveGuestExec(GUEST_LINK.guest, GUEST_EXEC_PORT, { restart });
    const hostSpecs = componentSpecs(state.plan, paths, GUEST_API_SOCKET, state.apiPort, state.proxyArgs ?? []);
    // The apiserver on the host cannot reach the guest's loopback: the agents publish no streaming port (logs are reported instead).
    const specs = { ...hostSpecs, node: (n: Parameters<typeof hostSpecs.node>[0]) => ({ ...hostSpecs.node(n), argv: [...hostSpecs.node(n).argv, '--no-streaming'] }) };
    await setupControlPlaneNetwork(state.plan);
    await startNodeHalf(state.plan, specs, start, (what) => log.info(0, 'Milestone', { what }));
    log.info(0, 'Node half started', { nodes: state.plan.nodes.length });
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    agent.close();
    stopRelay(relay);
    await stopComponents([...components.values()]);
    return 0;
  },
});
