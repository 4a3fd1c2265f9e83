import { execFile } from '../util/exec.ts';
import type { IPFamily } from '../endpoints/node-port-addresses.ts';
import { SET, type SetName } from './desired.ts';

/**
 * The ipsets of kube-proxy's IPVS mode, written with the `ipset` binary
 * (`ipset restore`, as kube-proxy runs `ipset`). A full sync rebuilds every
 * set into a temporary one and swaps it in, so rules never see a half-filled
 * set; a partial sync adds and deletes only the entries that changed.
 */
const HASH = 'family inet hashsize 1024 maxelem 1048576';
const IPSET_NAME_MAX = 31;
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

/**
 * ipsetName is a set's name for a family's proxier: the IPv4 name, or for
 * IPv6 `KUBE-6-` for `KUBE-` cut to ipset's 31 characters, as kube-proxy
 * names them (KUBE-6-LOAD-BALANCER-SOURCE-CID).
 */
export const ipsetName = (set: SetName, family: IPFamily = 4): string => (family === 4 ? set : set.replace(/^KUBE-/, 'KUBE-6-').slice(0, IPSET_NAME_MAX));

const typeOf = (set: SetName, family: IPFamily) => (family === 4 ? TYPES[set] : TYPES[set].replace('family inet ', 'family inet6 '));

/** Temporary set names are numbered: ipset names hold at most 31 characters, and KUBE-LOAD-BALANCER-SOURCE-CIDR has 30. */
const tmpName = (i: number, family: IPFamily) => (family === 4 ? `KUBE-TMP-${i}` : `KUBE-6-TMP-${i}`);

/** renderFullRestore rebuilds every set of a family from its entries (create if missing, fill a temp set, swap). */
export function renderFullRestore(entries: (set: SetName) => Iterable<string>, family: IPFamily = 4): string {
  const lines: string[] = [];
  for (const [i, set] of SET_NAMES.entries()) {
    const [name, tmp, type] = [ipsetName(set, family), tmpName(i, family), typeOf(set, family)];
    lines.push(`create ${name} ${type} -exist`, `create ${tmp} ${type} -exist`, `flush ${tmp}`);
    for (const e of entries(set)) lines.push(`add ${tmp} ${e}`);
    lines.push(`swap ${tmp} ${name}`, `destroy ${tmp}`);
  }
  return lines.join('\n') + '\n';
}

/** renderDelta adds and deletes a family's entries (-exist makes both idempotent). */
export function renderDelta(add: ReadonlyArray<readonly [SetName, string]>, del: ReadonlyArray<readonly [SetName, string]>, family: IPFamily = 4): string {
  const name = (s: SetName) => ipsetName(s, family);
  const lines = [...del.map(([s, e]) => `del ${name(s)} ${e} -exist`), ...add.map(([s, e]) => `add ${name(s)} ${e} -exist`)];
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
