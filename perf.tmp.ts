import { TableModel } from './src/nftables/table-model.ts';
import { libnftablesRunner } from './src/nftables/runner.ts';
import { OPTIONS, ep, state, svc } from './test/unit/nftables/fixtures.ts';
import { readFileSync } from 'node:fs';
const n = Number(process.argv[2] ?? 10000);
const entries: any[] = [];
for (let i = 0; i < n; i++) {
  const ip = `172.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const eps = Array.from({ length: 10 }, (_, j) => ep(`10.${100 + j + 10 * (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, { port: 8080, isLocal: j === 0 }));
  const np = i % 10 === 0 ? { type: 'NodePort', nodePort: 30000 + i / 10 } : {};
  entries.push([svc('ns', `svc-${i}`, { clusterIPs: [ip], ...np }), eps]);
}
const st = state(entries);
const rss0 = process.memoryUsage().rss;
const model = new TableModel(OPTIONS);
const r = libnftablesRunner();
let t = performance.now();
const tx = model.full(st, []);
const render = performance.now() - t;
await r.run(tx.text);
const total = performance.now() - t;
console.log({ n, renderMs: render.toFixed(0), totalMs: total.toFixed(0), bytes: tx.text.length, elements: tx.elements, rssBeforeMB: (rss0/1e6).toFixed(0), rssMB: (process.memoryUsage().rss / 1e6).toFixed(0) });
const times: number[] = [];
for (let k = 0; k < 20; k++) {
  const [s, e] = entries[k * 7];
  const ch = state(entries.map(([a, b]: any) => a === s ? [a, [...b.slice(0, 9), ep(`10.250.0.${k}`, { port: 8080 })]] : [a, b]), [s.key]);
  t = performance.now();
  const p = model.partial(ch, []);
  await r.run(p.text);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log({ oneChangeMsMedian: times[10].toFixed(2), max: times[19].toFixed(2) }, readFileSync('/proc/self/status', 'utf8').split('\n').filter((l) => l.startsWith('VmHWM'))[0]);
