import { benchCluster, snapshot, benchService, oneEndpointChanged, benchProxyConfig } from './scripts/bench/synthetic.ts';
import { TableModel } from './src/nftables/table-model.ts';
import { renderOptions } from './src/nftables/proxier.ts';
import { libnftablesRunner } from './src/nftables/runner.ts';
import { encodable, encodeSets } from './src/nftables/element-encoding.ts';
const n = Number(process.argv[2]);
const cluster = benchCluster(n, 10);
const s0 = snapshot(cluster, cluster.services.keys());
const model = new TableModel(renderOptions(benchProxyConfig('nftables'), []));
const r = libnftablesRunner();
const tx = model.full(s0, [], encodable);
await r.run(tx.text); await r.addElements(encodeSets(tx.elementsApart!));
for (let k = 1; k <= 6; k++) {
  const key = benchService((k * 7919) % cluster.services.size).key;
  cluster.endpoints.set(key, oneEndpointChanged(cluster.endpoints.get(key)!, k));
  const st = snapshot(cluster, [key]);
  const p = model.partial(st, []);
  const t = performance.now(); await r.run(p.text); const a = performance.now() - t;
  const lines = p.text.trim().split('\n');
  const t2 = performance.now(); await r.run(lines.filter(l => l.startsWith('add ')).map(l => l.replace(/^add/, 'delete').replace(/ : [^,}]+/g, '')).join('\n') + '\n' + lines.filter(l => l.startsWith('add ')).join('\n') + '\n'); const b = performance.now() - t2;
  console.log(`n=${n} run ${a.toFixed(2)} ms (${lines.length} lines); again ${b.toFixed(2)}`);
}
