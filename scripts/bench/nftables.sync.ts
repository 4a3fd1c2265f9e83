/**
 * One cell of the nftables benchmark's sync table, in a fresh scratch
 * namespace of its own and a process of its own (so the peak RSS it reports
 * is the proxy's alone):
 *
 *   ip netns exec <scratch> node --import tsx nftables.sync.ts <cell> <services> <endpoints> <changes>
 *
 * cell: `nftables`, `iptables-nft`, `iptables-legacy` (the proxier, as
 * `ferry proxy` builds it) or `nft-floor` (`nft -f` of the same full ruleset
 * the nftables proxier loads: the floor). Prints one JSON line after the full
 * sync from empty, `{"phase":"full","ms":…,"peakRssMiB":…,"baseRssMiB":…}`,
 * then for proxiers one after `changes` single-endpoint changes,
 * `{"phase":"change","ms":[…]}`. The orchestrator enforces the time limit
 * by killing this process group and deleting the namespace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Proxier } from '../../src/endpoints/proxier.ts';
import { loadBackend } from '../../src/endpoints/backends.ts';
import { ProxyMetrics } from '../../src/endpoints/metrics.ts';
import { renderFullTransaction } from '../../src/nftables/index.ts';
import { renderOptions } from '../../src/nftables/proxier.ts';
import { execFile } from '../../src/util/exec.ts';
import { benchCluster, benchProxyConfig, benchService, oneEndpointChanged, snapshot, type BenchCluster } from './synthetic.ts';

export type SyncCell = 'nftables' | 'iptables-nft' | 'iptables-legacy' | 'nft-floor';

/** statusKiB reads a VmRSS/VmHWM line of /proc/self/status. */
function statusMiB(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

function print(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** createProxier builds the cell's backend as `ferry proxy --mode …` does (src/endpoints/backends.ts). */
async function createProxier(cell: Exclude<SyncCell, 'nft-floor'>): Promise<Proxier> {
  const config = cell === 'nftables' ? benchProxyConfig('nftables') : benchProxyConfig('iptables', cell === 'iptables-nft' ? 'nft' : 'legacy');
  return (await loadBackend(config.mode))(config, new ProxyMetrics());
}

/** measureFloor times `nft -f` of the full ruleset; /usr/bin/time gives nft's own peak RSS. */
async function measureFloor(cluster: BenchCluster): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-nft-'));
  try {
    const file = join(dir, 'full.nft');
    // The text the nftables proxier's first sync loads (no node IPs: the synthetic services use none).
    writeFileSync(file, renderFullTransaction(snapshot(cluster, cluster.services.keys()), renderOptions(benchProxyConfig('nftables'), [], 4)));
    const started = performance.now();
    const r = await execFile('/usr/bin/time', ['-f', '%M', 'nft', '-f', file]);
    const ms = performance.now() - started;
    const maxRssKiB = Number(r.stderr.trim().split('\n').pop());
    print({ phase: 'full', ms, peakRssMiB: maxRssKiB / 1024, baseRssMiB: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** measureProxier: a full sync from empty, then `changes` syncs of one endpoint change each. */
async function measureProxier(cell: Exclude<SyncCell, 'nft-floor'>, cluster: BenchCluster, changes: number): Promise<void> {
  const proxier = await createProxier(cell);
  const initial = snapshot(cluster, cluster.services.keys());
  const baseRssMiB = statusMiB('VmRSS');
  const started = performance.now();
  const full = await proxier.sync(initial);
  const ms = performance.now() - started;
  if (!full.ok) throw full.error;
  print({ phase: 'full', ms, peakRssMiB: statusMiB('VmHWM'), baseRssMiB });
  const times: number[] = [];
  for (let k = 1; k <= changes; k++) {
    // Spread over the cluster: services far apart, each change one endpoint of one service.
    const key = benchService((k * 7919) % cluster.services.size).key;
    cluster.endpoints.set(key, oneEndpointChanged(cluster.endpoints.get(key)!, k));
    // The snapshot is the watcher's work, not the proxier's: built before the clock starts.
    const state = snapshot(cluster, [key]);
    const t0 = performance.now();
    const r = await proxier.sync(state);
    times.push(performance.now() - t0);
    if (!r.ok) throw r.error;
    if (r.full) throw new Error(`change ${k} was synced in full`);
  }
  print({ phase: 'change', ms: times });
  await proxier.close();
}

async function main(): Promise<void> {
  const [cell, services, endpoints, changes] = process.argv.slice(2);
  const cluster = benchCluster(Number(services), Number(endpoints));
  if (cell === 'nft-floor') await measureFloor(cluster);
  else await measureProxier(cell as Exclude<SyncCell, 'nft-floor'>, cluster, Number(changes));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    print({ phase: 'error', error: err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err) });
    process.exit(1);
  },
);
