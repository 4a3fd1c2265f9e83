import { existsSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.ts';
import { callGuest } from './guest-exec.ts';
import { removeLabNamespaces, routeServicesFromNode, setupControlPlaneNetwork } from './network.ts';
import { CLUSTER_CIDR, CONTROL_PLANE_IP, LAB_PREFIX_ROOT, labIptablesBackend, planLab, SERVICE_CIDR, type LabPlan, type NodePlan, type ProxyMode } from './plan.ts';
import { labNames, labPaths, readState, writeState, type ComponentRecord, type LabPaths, type LabState } from './state.ts';
import { isAlive, restartProcess, startFresh, stopComponents, type ComponentSpec } from './supervisor.ts';
import { GUEST_LINK, guestLink, guestLinkNamespace, guestSpec, setupGuestLink, umlStatus } from './uml.ts';
import { bundlePath, repoPath } from '../../util/repo.ts';
import { ApiClient } from '../../client/api-client.ts';
import { restartProxyPod } from './data-plane.ts';
import { freePort } from '../../util/free-port.ts';
import { ensureCa } from '../../apiserver-stub/pki.ts';
import { componentKubeconfigPath, controllerManagerIdentity, nodeIdentity, schedulerIdentity, writeComponentKubeconfigs, type ComponentIdentity } from './component-credentials.ts';

/**
 * Bringing a lab's processes and namespaces up and down. The objects inside
 * the cluster (DNS, demo) are up.ts's business; this module only knows
 * processes, namespaces and the state file.
 */

export const FERRY_BIN = repoPath('bin', 'ferry');

export interface StartOptions {
  name: string;
  nodes: number;
  mode: ProxyMode;
  prefix?: string;
  /** TCP port of the apiserver on 127.0.0.1; 0 picks a free one. */
  apiPort: number;
  /** Extra `ferry proxy` flags (the e2e suite shortens sync periods). */
  proxyArgs?: string[];
  /** Runs once the apiserver answers, alongside the other components' start (creating the add-ons early saves time). */
  onApiReady?: () => Promise<void>;
  /** Called at each start-up milestone (for `ferry up`'s timing line). */
  mark?: (milestone: string) => void;
  /** The proxies run as the ferry-proxy DaemonSet's pods (which onApiReady creates), not as processes of the lab. */
  proxiesAsPods?: boolean;
}

/** apiReady is whether the apiserver answers /readyz on its Unix socket. */
export function apiReady(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, component?: ComponentRecord): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    if (component && !isAlive(component.pid)) throw new LabError('FERRY_ERR_LAB_START', `${component.name} exited while waiting for ${what}; see ${component.log}`);
    await sleep(20);
  }
  throw new LabError('FERRY_ERR_LAB_START', `timed out after ${timeoutMs} ms waiting for ${what}${component ? `; see ${component.log}` : ''}`);
}

export type ComponentSpecs = ReturnType<typeof componentSpecs>;

/**
 * componentSpecs: every lab process's command. `socket` is the apiserver's
 * Unix socket as the node half sees it (the host's, or the guest's relay in
 * an ipvs lab).
 */
export function componentSpecs(plan: LabPlan, paths: LabPaths, socket: string, apiPort: number, proxyArgs: readonly string[] = []) {
  const server = `unix://${socket}`;
  // On the host each component has its own identity (component-credentials.ts); a UML guest's reach the guest's relay socket.
  const reach = (id: ComponentIdentity) => (socket === paths.socket ? ['--kubeconfig', componentKubeconfigPath(paths, id)] : ['--server', server]);
  const log = (n: string) => join(paths.logs, `${n}.log`);
  const apiserver: ComponentSpec = {
    name: 'apiserver',
    argv: [FERRY_BIN, 'apiserver', '--listen', `127.0.0.1:${apiPort}`, '--unix-socket', paths.socket, '--tls-unix-socket', paths.tlsSocket, '--data-dir', paths.data,
      '--advertise-address', CONTROL_PLANE_IP, '--service-cluster-ip-range', SERVICE_CIDR],
    log: log('apiserver'),
  };
  const control: ComponentSpec[] = [
    { name: 'controller-manager', argv: [FERRY_BIN, 'controller-manager', ...reach(controllerManagerIdentity), '--root-ca-file', join(paths.data, 'pki', 'ca.crt')], log: log('controller-manager') },
    { name: 'scheduler', argv: [FERRY_BIN, 'scheduler', ...reach(schedulerIdentity)], log: log('scheduler') },
  ];
  // Pods reach the `kubernetes` Service through this relay: to the HTTPS socket, where they are who their
  // ServiceAccount token says (in a UML guest the relay runs there and carries them to the guest's socket).
  const relay: ComponentSpec = {
    name: 'relay', argv: [FERRY_BIN, 'relay', '--listen', `${CONTROL_PLANE_IP}:${apiPort}`, '--unix-socket', socket === paths.socket ? paths.tlsSocket : socket], netns: plan.controlPlaneNs, log: log('relay'),
  };
  const backend = labIptablesBackend(plan.mode);
  const modeArgs = backend ? ['--iptables-backend', backend] : [];
  const node = (n: NodePlan): ComponentSpec => ({
    name: `node-${n.name}`,
    // `ferry down` gives each component 3 s to stop: the pods (ferry-dns keeps serving 5 s in lameduck) get 1 s.
    argv: [FERRY_BIN, 'node', ...reach(nodeIdentity(n.name)), '--name', n.name, '--lab-prefix', plan.prefix, '--node-ip', n.ip, '--pod-cidr', n.podCIDR, '--shutdown-grace-period', '1s'],
    log: log(`node-${n.name}`),
  });
  const proxy = (n: NodePlan): ComponentSpec => ({
    name: `proxy-${n.name}`,
    argv: [FERRY_BIN, 'proxy', '--server', server, '--mode', plan.mode, '--hostname-override', n.name, '--cluster-cidr', CLUSTER_CIDR, ...modeArgs, ...proxyArgs],
    netns: n.ns,
    log: log(`proxy-${n.name}`),
  });
  return { apiserver, control, relay, node, proxy };
}

/**
 * startNodeHalf starts, once the control-plane network is made, its relay and
 * every node: each node's agent, and the node's proxy as soon as the agent
 * has made the node namespace. It runs on the host, or inside the UML guest
 * of an ipvs lab (`ferry lab-guest`), and for nodes added later (grow.ts).
 */
export async function startNodeHalf(plan: LabPlan, specs: ComponentSpecs, start: (spec: ComponentSpec) => ComponentRecord, mark?: (what: string) => void, o: { relay?: boolean; proxiesAsPods?: boolean } = {}): Promise<void> {
  // Nodes added to a running lab (grow.ts) share the relay already there.
  if (o.relay !== false) start(specs.relay);
  await Promise.all(plan.nodes.map(async (n) => {
    const agent = start(specs.node(n));
    // /run/netns/<ns> appears before `ip netns add` has mounted it: wait for the node's eth0 (the
    // route needs it), by when the namespace is certainly usable, then start the proxy in it.
    await waitFor(`node namespace ${n.ns}`, () => existsSync(`/run/netns/${n.ns}`), 60_000, agent);
    await routeServicesFromNode(n);
    mark?.(`${n.name} network`);
    if (!o.proxiesAsPods) start(specs.proxy(n));
  }));
}

/** startGuest boots an ipvs lab's UML guest, which runs the node half (src/cli/commands/lab-guest.ts). */
async function startGuest(state: LabState, paths: LabPaths, start: (spec: ComponentSpec) => ComponentRecord): Promise<void> {
  const { plan, apiPort } = state;
  // The guest's root is read-only: the bundles it runs (CLI, DNS, agnhost) must be built before it boots.
  bundlePath('ferry');
  start({ name: 'guest-relay', argv: [FERRY_BIN, 'relay', '--listen', `${GUEST_LINK.host}:${apiPort}`, '--unix-socket', paths.socket], netns: guestLinkNamespace(plan), log: join(paths.logs, 'guest-relay.log') });
  state.guest = guestLink(plan);
  start(guestSpec(plan, paths));
}

/**
 * startLab brings up a fresh lab: the apiserver and the network first (in
 * parallel), then every other component at once. In an ipvs lab the node
 * half runs inside a User-Mode Linux guest. The state file is rewritten
 * after every start so a crash half-way leaves nothing `ferry down` cannot find.
 */
export async function startLab(opts: StartOptions): Promise<LabState> {
  const paths = labPaths(opts.name);
  const old = readState(paths);
  if (old?.components.some((c) => isAlive(c.pid))) throw new LabError('FERRY_ERR_LAB_EXISTS', `lab ${opts.name} is running (ferry down --name ${opts.name} first)`);
  if (old) await stopLab(opts.name);
  const plan = planLab(opts.name, opts.nodes, opts.mode, opts.prefix);
  if (plan.mode === 'ipvs') {
    const uml = umlStatus();
    if (!uml.ok) throw new LabError('FERRY_ERR_LAB_START', `ferry up --mode ipvs runs the nodes in a User-Mode Linux kernel (this kernel has no IPVS): ${uml.reason}`);
  }
  await removeLabNamespaces(plan.prefix);
  rmSync(paths.data, { recursive: true, force: true });
  rmSync(paths.socket, { force: true });
  const apiPort = opts.apiPort || (await freePort());
  const state: LabState = {
    plan, apiPort, socket: paths.socket, startedAt: new Date().toISOString(), components: [], proxyArgs: [...(opts.proxyArgs ?? [])],
    ...(opts.proxiesAsPods ? { proxies: 'pods' as const } : {}),
  };
  const start = (spec: ComponentSpec) => {
    const rec = startFresh(spec);
    state.components.push(rec);
    writeState(paths, state);
    return rec;
  };
  const inGuest = plan.mode === 'ipvs';
  const specs = componentSpecs(plan, paths, paths.socket, apiPort, opts.proxyArgs);
  writeState(paths, state);
  // The CA first, so the apiserver finds it; the components' certificates while the apiserver and network start.
  const credentials = writeComponentKubeconfigs(paths, ensureCa(paths.data), apiPort, [controllerManagerIdentity, schedulerIdentity, ...(inGuest ? [] : plan.nodes.map((n) => nodeIdentity(n.name)))]);
  const apiserver = start(specs.apiserver);
  await Promise.all([inGuest ? setupGuestLink(plan) : setupControlPlaneNetwork(plan), credentials]);
  opts.mark?.('network');
  // Nodes build their networks (or the guest boots) while the apiserver starts: a node agent
  // retries registration until the apiserver answers.
  const nodes = inGuest ? startGuest(state, paths, start) : startNodeHalf(plan, specs, start, opts.mark, { proxiesAsPods: opts.proxiesAsPods ?? false });
  await waitFor('the apiserver', () => apiReady(paths.socket), 60_000, apiserver);
  opts.mark?.('apiserver ready');
  for (const spec of specs.control) start(spec);
  await Promise.all([nodes, opts.onApiReady?.()]);
  opts.mark?.('all started');
  return state;
}

/** restartComponent stops one component and starts it again with the same command (tests: proxy and apiserver restarts). */
export async function restartComponent(name: string, component: string): Promise<void> {
  const paths = labPaths(name);
  const state = readState(paths);
  const old = state?.components.find((c) => c.name === component);
  if (state?.guest && !old) {
    const r = await callGuest(state.guest, { op: 'restart', component }, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new LabError('FERRY_ERR_LAB_NOT_FOUND', `restarting ${component} in lab ${name}'s guest: ${r.stderr.trim()}`);
    return;
  }
  const proxyNode = component.startsWith('proxy-') ? state?.plan.nodes.find((n) => `proxy-${n.name}` === component) : undefined;
  if (state?.proxies === 'pods' && proxyNode) {
    // The proxy is the DaemonSet's pod on that node: the node agent restarts it as a cluster would.
    const client = new ApiClient({ server: `unix://${state.socket}` }, { userAgent: 'ferry-lab' });
    try {
      return await restartProxyPod(client, proxyNode.name);
    } finally {
      await client.close();
    }
  }
  if (!state || !old) throw new LabError('FERRY_ERR_LAB_NOT_FOUND', `no component ${component} in lab ${name}`);
  const rec = await restartProcess(old);
  state.components = state.components.map((c) => (c.name === component ? rec : c));
  writeState(paths, state);
  if (component === 'apiserver') await waitFor('the apiserver', () => apiReady(paths.socket), 60_000, rec);
}

/**
 * stopLab stops every process of the lab and removes its namespaces, socket
 * and state file (the logs stay for reading). Safe to run twice and after any
 * component was killed.
 */
export async function stopLab(name: string): Promise<{ stopped: number; namespaces: string[] }> {
  const paths = labPaths(name);
  const state = readState(paths);
  const components = state?.components ?? [];
  const stopped = await stopComponents(components);
  const namespaces = await removeLabNamespaces(state?.plan.prefix ?? planLab(name, 0, 'dry-run').prefix);
  rmSync(paths.socket, { force: true });
  rmSync(paths.tlsSocket, { force: true });
  rmSync(paths.state, { force: true });
  return { stopped, namespaces };
}

/** stopAllLabs stops every lab with a state file, then removes any namespace left with the lab prefix. */
export async function stopAllLabs(): Promise<{ labs: string[]; strays: string[] }> {
  const labs = labNames();
  for (const name of labs) await stopLab(name);
  const strays = await removeLabNamespaces(LAB_PREFIX_ROOT);
  return { labs, strays };
}
