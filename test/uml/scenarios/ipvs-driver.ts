import { createInterface } from 'node:readline';
import { IpvsProxier } from '../../../src/ipvs/proxier.ts';
import { proxyConfig, StateBuilder, type ServiceSpec } from './proxy-specs.ts';

/**
 * Runs the IPVS proxier inside a node namespace (`ip netns exec <node> tsx
 * ipvs-driver.ts`) for a scenario in the guest's root namespace, standing in
 * for `ferry proxy` until that lands: one JSON command per stdin line
 * (`{"sync": [specs]}`, `{"cleanup": true}`), one JSON result per stdout line.
 */
const proxier = new IpvsProxier(proxyConfig(), { gracefulCheckIntervalMs: 500, gracefulTimeoutMs: Number(process.env.GRACEFUL_TIMEOUT_MS ?? 10_000) });
const builder = new StateBuilder();

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { sync?: ServiceSpec[]; cleanup?: boolean };
  let reply: unknown;
  if (cmd.sync) {
    const start = performance.now();
    const r = await proxier.sync(builder.next(cmd.sync));
    reply = r.ok ? { ok: true, full: r.full, stats: r.stats, ms: performance.now() - start } : { ok: false, error: r.error.message };
  } else if (cmd.cleanup) {
    reply = await proxier.cleanup().then(
      () => ({ ok: true }),
      (e: Error) => ({ ok: false, error: e.message }),
    );
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
await proxier.close();
