import type { Service } from 'kubernetes-types/core/v1.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineCommand } from '../command.ts';
import { ApiClient } from '../../client/api-client.ts';
import { availableModes } from '../../endpoints/backends.ts';
import { resources } from '../../client/resources.ts';
import { demoObjects, dnsObjects, ensureNamespace, ensureObject, waitForNodes, DEMO_NAME } from '../../lab/cluster/addons.ts';
import { pkiCredentials, writeKubeconfig } from '../../lab/cluster/kubeconfig.ts';
import { applyDataPlane, DNS_DEPLOYMENT, type Manifest } from '../../lab/cluster/data-plane.ts';
import { LabError } from '../../lab/cluster/errors.ts';
import { FERRY_BIN, startLab, stopLab } from '../../lab/cluster/lab.ts';
import { CONTROL_PLANE_IP, PROXY_MODES, type ProxyMode } from '../../lab/cluster/plan.ts';
import { labPaths, type LabState } from '../../lab/cluster/state.ts';
import { execInLab } from '../../lab/cluster/client.ts';
import { GUEST_API_SOCKET } from '../../lab/cluster/uml.ts';
import { waitForClusterDns } from '../../lab/cluster/dns-ready.ts';
import { growLab, runningLab } from '../../lab/cluster/grow.ts';
import { InvalidArgumentError } from '../../util/errors.ts';
import { freePort } from '../../util/free-port.ts';

/** answers is whether `curl` from inside a lab namespace gets an HTTP answer from url. */
async function answers(state: LabState, ns: string, url: string): Promise<boolean> {
  try {
    return (await execInLab(state, ns, 'curl', ['-sf', '-m', '1', url], 5000)).code === 0;
  } catch {
    return false;
  }
}

/** grow adds nodes to the running lab `state` (`ferry up --nodes N` on a lab of fewer nodes) and says so. */
async function grow(state: LabState, nodes: number, mode: ProxyMode, began: number): Promise<number> {
  const { added } = await growLab(state, nodes, mode);
  const nameFlag = state.plan.name === 'lab' ? '' : ` --name ${state.plan.name}`;
  process.stdout.write(`Lab ${state.plan.name} was running; added node(s) ${added.join(', ')}, Ready ${((Date.now() - began) / 1000).toFixed(2)} s after ferry up started: ${nodes} node(s) now.\n`
    + `DaemonSets put their pods there; the scheduler uses them for new pods (kubectl get nodes; ferry status${nameFlag}).\n`);
  return 0;
}

export default defineCommand({
  name: 'up',
  summary: 'Start a lab cluster in the background: apiserver, controllers, scheduler, and per node a node agent and proxy in its own network namespace',
  flags: {
    name: { type: 'string', default: 'lab', help: 'lab name: state, logs and kubeconfig go under .ferry/<name>/' },
    nodes: { type: 'int', default: 3, help: 'number of nodes; on a running lab with fewer, adds the missing nodes' },
    mode: { type: 'string', default: 'iptables', help: `proxy mode of every node: ${PROXY_MODES.join(', ')}` },
    demo: { type: 'boolean', default: false, help: 'deploy a 3-replica agnhost netexec Deployment and a NodePort Service, and wait until it answers' },
    'apiserver-port': { type: 'int', default: 0, help: 'TCP port of the apiserver on 127.0.0.1 (0: a free one)' },
    'lab-prefix': { type: 'string', help: 'prefix of the lab\'s network namespaces (default fylab-<name>-)' },
    'proxy-arg': { type: 'list', help: 'extra flags for every ferry proxy, e.g. --proxy-arg=--min-sync-period=100ms' },
  },
  async run({ flags }) {
    // Measured from the process start: tsx's own start-up is part of what a user waits for.
    const began = Date.now() - Math.round(process.uptime() * 1000);
    const marks: string[] = [`cli ${((Date.now() - began) / 1000).toFixed(2)}`];
    const mark = (what: string) => marks.push(`${what} ${((Date.now() - began) / 1000).toFixed(2)}`);
    const mode = flags.mode as ProxyMode;
    if (!PROXY_MODES.includes(mode)) throw new InvalidArgumentError(`invalid --mode ${JSON.stringify(flags.mode)}: want one of ${PROXY_MODES.join(', ')}`);
    if (!availableModes().includes(mode)) throw new InvalidArgumentError(`proxy mode ${mode} is not available in this build (available: ${availableModes().join(', ')})`);
    if (flags.nodes < 1 || flags.nodes > 200) throw new InvalidArgumentError('--nodes must be between 1 and 200');
    const running = runningLab(flags.name);
    if (running) return grow(running, flags.nodes, mode, began);
    const paths = labPaths(flags.name);
    const client = new ApiClient({ server: `unix://${paths.socket}` }, { userAgent: 'ferry-up' });
    let demoIP: string | undefined;
    // The data plane from deploy/'s manifests (proxies as a DaemonSet, DNS as a Deployment), except in an
    // ipvs lab, whose nodes run in a UML guest with a read-only root (this path is not tested where UML
    // does not boot): there the proxies are processes and DNS the flag-configured coredns Deployment.
    const proxiesAsPods = mode !== 'ipvs';
    const apiPort = flags['apiserver-port'] || (await freePort());
    const dataPlane = { mode, server: `https://${CONTROL_PLANE_IP}:${apiPort}`, proxyArgs: flags['proxy-arg'] ?? [] };
    const isDnsDeployment = (m: Manifest) => m.kind === 'Deployment' && m.metadata.name === DNS_DEPLOYMENT;
    const addons = async () => {
      await ensureNamespace(client, 'kube-system');
      // In an ipvs lab the DNS pods run in the UML guest, which has its own relay socket.
      const dns = dnsObjects(mode === 'ipvs' ? GUEST_API_SOCKET : paths.socket);
      const demo = demoObjects();
      const services = await Promise.all([
        // The DaemonSet first: its pods start as the nodes register.
        proxiesAsPods ? applyDataPlane(client, dataPlane, (m) => !isDnsDeployment(m)) : ensureObject(client, resources.services, dns.service),
        ...(flags.demo ? [ensureObject(client, resources.services, demo.service)] : []),
      ]);
      demoIP = (services[1] as Service | undefined)?.spec?.clusterIP;
      mark('services');
      // Nodes in a UML guest start far slower than on the host.
      await waitForNodes(client, flags.nodes, mode === 'ipvs' ? 180_000 : 20_000);
      mark('nodes registered');
      await Promise.all([
        proxiesAsPods ? applyDataPlane(client, dataPlane, isDnsDeployment) : ensureObject(client, resources.deployments, dns.deployment),
        ...(flags.demo ? [ensureObject(client, resources.deployments, demo.deployment)] : []),
      ]);
    };
    let state;
    try {
      state = await startLab({
        name: flags.name, nodes: flags.nodes, mode, apiPort, proxyArgs: flags['proxy-arg'] ?? [], onApiReady: addons, mark, proxiesAsPods,
        ...(flags['lab-prefix'] ? { prefix: flags['lab-prefix'] } : {}),
      });
    } catch (error) {
      await client.close();
      // A lab already running under this name is not this run's to clean up.
      if (error instanceof LabError && error.code === 'FERRY_ERR_LAB_EXISTS') throw error;
      process.stderr.write(`ferry up failed; cleaning up (logs stay under ${paths.logs})\n`);
      await stopLab(flags.name);
      throw error;
    }
    const server = `https://127.0.0.1:${state.apiPort}`;
    writeKubeconfig(paths.kubeconfig, flags.name, server, pkiCredentials(paths.data));
    // Ready means a pod's lookups work: DNS pods running is not enough before every proxy has the ClusterIP.
    // A dry-run proxy programs nothing, so no ClusterIP answers there.
    if (mode !== 'dry-run') {
      await waitForClusterDns(state, client, mode === 'ipvs' ? 180_000 : 60_000);
      mark('dns answered');
    }
    const out: string[] = [`Lab ${flags.name} is up: ${flags.nodes} node(s), proxy mode ${mode}, apiserver ${server} (logs: ${paths.logs}).`];
    if (state.guest) out.push('This kernel has no IPVS: the nodes, their ipvs proxies and the pods run inside a User-Mode Linux kernel (control plane on this host); ferry exec reaches them there.');
    if (flags.demo && demoIP) {
      const node = state.plan.nodes[0]!;
      const url = `http://${demoIP}:80/hostname`;
      while (!(await answers(state, node.ns, url))) {
        if (Date.now() - began > 180_000) throw new InvalidArgumentError(`demo service ${url} did not answer within 180 s; see ferry status and ferry logs`);
        await sleep(50);
      }
      out.push(`Demo service ${DEMO_NAME} answered through its ClusterIP ${demoIP} ${((Date.now() - began) / 1000).toFixed(2)} s after ferry up started.`);
      mark('demo answered');
    } else {
      out.push(`${mode === 'dry-run' ? 'Started' : 'Ready (cluster DNS answers over UDP and TCP)'} in ${((Date.now() - began) / 1000).toFixed(2)} s.`);
    }
    out.push(`Timeline (s): ${marks.join(', ')}.`);
    await client.close();
    const ferry = FERRY_BIN.replace(`${process.cwd()}/`, './');
    const nameFlag = flags.name === 'lab' ? '' : ` --name ${flags.name}`;
    out.push('', 'Use it with kubectl:', `  export KUBECONFIG=${paths.kubeconfig}; kubectl get nodes`);
    if (flags.demo) {
      out.push('', 'Try:',
        `  kubectl get pods -o wide`,
        `  ${ferry} exec${nameFlag} node/${state.plan.nodes[0]!.name} -- curl -s http://${demoIP}/hostname`,
        `  ${ferry} exec${nameFlag} $(kubectl get pods -l app=${DEMO_NAME} -o name | head -1 | cut -d/ -f2) -- dig +search +short ${DEMO_NAME}`);
    }
    out.push('', `Status: ${ferry} status${nameFlag}; logs: ${ferry} logs${nameFlag} <component>; stop: ${ferry} down${nameFlag}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
});
