import { execFile } from '../util/exec.ts';
import { SET, type SetName } from './desired.ts';

/**
 * The ipsets of kube-proxy's IPVS mode, written with the `ipset` binary
 * (`ipset restore`, as kube-proxy runs `ipset`). A full sync rebuilds every
 * set into a temporary one and swaps it in, so rules never see a half-filled
 * set; a partial sync adds and deletes only the entries that changed.
 */
const HASH = 'family inet hashsize 1024 maxelem 1048576';
const TYPES: Record<SetName, string> = {
  [SET.clusterIP]: `hash:ip,port ${HASH}`,
  [SET.externalIP]: `hash:ip,port ${HASH}`,
  [SET.externalIPLocal]: `hash:ip,port ${HASH}`,
  [SET.loadBalancer]: `hash:ip,port ${HASH}`,
  [SET.loadBalancerLocal]: `hash:ip,port ${HASH}`,
  [SET.loadBalancerFW]: `hash:ip,port ${HASH}`,
  [SET.loadBalancerSourceIP]: `hash:ip,port,ip ${HASH}`,
  [SET.loadBalancerSourceCIDR]: `hash:ip,port,net ${HASH}`,
  [SET.loopBack]: `hash:ip,port,ip ${HASH}`,
  [SET.nodePortTCP]: 'bitmap:port range 0-65535',
  [SET.nodePortUDP]: 'bitmap:port range 0-65535',
  [SET.nodePortSCTP]: `hash:ip,port ${HASH}`,
  [SET.nodePortLocalTCP]: 'bitmap:port range 0-65535',
  [SET.nodePortLocalUDP]: 'bitmap:port range 0-65535',
  [SET.nodePortLocalSCTP]: `hash:ip,port ${HASH}`,
  [SET.healthCheckNodePort]: 'bitmap:port range 0-65535',
  [SET.ipvsIPs]: `hash:ip ${HASH}`,
};
const SET_NAMES = Object.keys(TYPES) as SetName[];
/** Temporary set names are numbered: ipset names hold at most 31 characters, and KUBE-LOAD-BALANCER-SOURCE-CIDR has 30. */
const tmpName = (i: number) => `KUBE-TMP-${i}`;

/** renderFullRestore rebuilds every set from its entries (create if missing, fill a temp set, swap). */
export function renderFullRestore(entries: (set: SetName) => Iterable<string>): string {
  const lines: string[] = [];
  for (const [i, name] of SET_NAMES.entries()) {
    const tmp = tmpName(i);
    lines.push(`create ${name} ${TYPES[name]} -exist`, `create ${tmp} ${TYPES[name]} -exist`, `flush ${tmp}`);
    for (const e of entries(name)) lines.push(`add ${tmp} ${e}`);
    lines.push(`swap ${tmp} ${name}`, `destroy ${tmp}`);
  }
  return lines.join('\n') + '\n';
}

/** renderDelta adds and deletes entries (-exist makes both idempotent). */
export function renderDelta(add: ReadonlyArray<readonly [SetName, string]>, del: ReadonlyArray<readonly [SetName, string]>): string {
  const lines = [...del.map(([s, e]) => `del ${s} ${e} -exist`), ...add.map(([s, e]) => `add ${s} ${e} -exist`)];
  return lines.length ? lines.join('\n') + '\n' : '';
}

export async function ipsetRestore(text: string): Promise<void> {
  if (text) await execFile('ipset', ['restore'], { input: text, timeoutMs: 60_000 });
}

/** destroyKubeSets removes every KUBE- set (after the rules that use them are gone). */
export async function destroyKubeSets(): Promise<void> {
  const r = await execFile('ipset', ['list', '-n'], { allowFailure: true });
  const names = r.stdout.split('\n').filter((n) => n.startsWith('KUBE-'));
  if (names.length) await execFile('ipset', ['restore'], { input: names.map((n) => `flush ${n}\ndestroy ${n}`).join('\n') + '\n' });
}
