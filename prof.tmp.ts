import { TableModel } from './src/nftables/table-model.ts';
import { OPTIONS, ep, state, svc } from './test/unit/nftables/fixtures.ts';
const n = 10000;
const entries: any[] = [];
for (let i = 0; i < n; i++) {
  const ip = `172.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const eps = Array.from({ length: 10 }, (_, j) => ep(`10.${100 + j + 10 * (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, { port: 8080, isLocal: j === 0 }));
  const np = i % 10 === 0 ? { type: 'NodePort', nodePort: 30000 + i / 10 } : {};
  entries.push([svc('ns', `svc-${i}`, { clusterIPs: [ip], ...np }), eps]);
}
const st = state(entries);
for (let k = 0; k < 3; k++) {
  const model = new TableModel(OPTIONS);
  const t = performance.now();
  const tx = model.full(st, []);
  console.log('render ms', (performance.now() - t).toFixed(0), tx.text.length, tx.elements);
}
