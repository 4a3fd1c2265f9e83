// Micro-benchmark of a Corefile server block's plugin chain in process (no
// sockets): the per-query time of a block with `k8s_external`, for a name
// k8s_external answers, a cluster name it passes on to the kubernetes
// plugin (a prebuilt answer there), and a reverse name outside both.
// Run: node --import=tsx scripts/bench/dns-chain.ts [seconds per kind, default 1]
import { ClientAcl, DEFAULT_FORWARD_ALLOW } from '../../src/dns/acl.ts';
import { DnsHandler, type Client } from '../../src/dns/handler.ts';
import { PluginChain } from '../../src/dns/corefile/chain.ts';
import { handlerZones } from '../../src/dns/corefile/kubernetes.ts';
import { k8sExternalPlugin, loadCorefile } from '../../src/dns/corefile/runner.ts';
import { scopedController } from '../../src/dns/corefile/scoped-controller.ts';
import type { PacketHandler } from '../../src/dns/packet-handler.ts';
import { RecordIndex } from '../../src/dns/records.ts';
import { buildQuery } from '../../test/unit/dns/helpers.ts';

const seconds = Number(process.argv[2] ?? '1');
const COREFILE = '.:53 {\n  kubernetes cluster.local in-addr.arpa {\n    fallthrough in-addr.arpa\n  }\n  k8s_external example.com\n}\n';

function cluster(): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  index.setService({ namespace: 'testns', name: 'svc1', kind: 'ClusterIP', clusterIPs: ['10.0.0.1'], externalIPs: ['1.2.3.4'], externalName: '', ports: [{ name: 'http', protocol: 'tcp', port: 80 }], publishNotReady: false });
  index.markSynced();
  return index;
}

/** chain builds the block as the runner does (src/dns/corefile/runner.ts #startBlock). */
function chain(): PacketHandler {
  const [c] = loadCorefile(COREFILE);
  const k = c!.kubernetes!;
  const index = cluster();
  const inner = new DnsHandler({ controller: scopedController(index, k), ...handlerZones(k), ttl: k.ttl, podMode: k.podMode, forwarder: undefined, acl: new ClientAcl(DEFAULT_FORWARD_ALLOW), metrics: undefined });
  return new PluginChain(inner, c!, { k8sExternal: k8sExternalPlugin(c!, index, []) });
}

const client: Client = { proto: 'udp', address: '127.0.0.1', family: 4 };
const KINDS: Array<[string, Buffer]> = [
  ['k8s_external A (answered by it)', buildQuery('svc1.testns.example.com', 'A')],
  ['cluster A (passed on, prebuilt)', buildQuery('svc1.testns.svc.cluster.local', 'A')],
  ['unknown PTR (passed on, fallthrough)', buildQuery('9.9.9.10.in-addr.arpa', 'PTR')],
];

// The machine is shared: CPU time (not wall time) of rounds of 20,000 queries, the best round of each kind reported.
const h = chain();
const ROUND = 20_000;
for (const [name, packet] of KINDS) {
  for (let i = 0; i < ROUND; i++) h.handle(packet, client); // warm up
  const rounds: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const before = process.cpuUsage();
    for (let i = 0; i < ROUND; i++) h.handle(packet, client);
    const used = process.cpuUsage(before);
    rounds.push((used.user + used.system) / ROUND);
  }
  rounds.sort((a, b) => a - b);
  const median = rounds[Math.floor(rounds.length / 2)]!;
  console.log(`${name.padEnd(40)} best ${rounds[0]!.toFixed(2)} µs, median ${median.toFixed(2)} µs CPU per query (${rounds.length} rounds)`);
}
