import { readFile } from 'node:fs/promises';
import { execFile } from '../util/exec.ts';
import { versionAtLeast } from '../util/version.ts';
import type { IptablesBackend } from './runner.ts';

/**
 * IptablesHostFeatures are what the node offers the rules, found once at
 * start as kube-proxy's NewProxier finds them: whether this iptables can
 * MASQUERADE `--random-fully` (iptables ≥ 1.6.2), and whether conntrack is
 * liberal about TCP windows (nf_conntrack_tcp_be_liberal ≠ 0; then only
 * out-of-window RSTs are INVALID, so INVALID packets are not dropped).
 */
export interface IptablesHostFeatures {
  readonly randomFully: boolean;
  readonly conntrackTCPLiberal: boolean;
}

/** TCP_BE_LIBERAL is per network namespace; `--conntrack-tcp-be-liberal` sets it. */
export const TCP_BE_LIBERAL = 'net.netfilter.nf_conntrack_tcp_be_liberal';

/** RANDOM_FULLY_SINCE is the first iptables release with MASQUERADE --random-fully. */
const RANDOM_FULLY_SINCE = [1, 6, 2];

/** supportsRandomFully reads `iptables v1.8.9 (nf_tables)` and compares the version with 1.6.2. */
export function supportsRandomFully(versionLine: string): boolean {
  return versionAtLeast(versionLine, RANDOM_FULLY_SINCE);
}

/** readSysctl reads /proc/sys/<key>; undefined where it does not exist (conntrack not loaded). */
export async function readSysctl(key: string): Promise<string | undefined> {
  return (await readFile(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').catch(() => undefined))?.trim();
}

/** detectHostFeatures asks this node's iptables binary and conntrack sysctl. */
export async function detectHostFeatures(backend: IptablesBackend): Promise<IptablesHostFeatures> {
  const [version, liberal] = await Promise.all([
    execFile(`iptables-${backend}`, ['--version'], { allowFailure: true, timeoutMs: 10_000 }).then((r) => r.stdout, () => ''),
    readSysctl(TCP_BE_LIBERAL),
  ]);
  return { randomFully: supportsRandomFully(version), conntrackTCPLiberal: liberal !== undefined && liberal !== '0' };
}
