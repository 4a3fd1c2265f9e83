import { cpus, release, totalmem } from 'node:os';
import { execFile } from '../util/exec.ts';

/** MachineInfo identifies where figures were measured, for results.json and the report. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  /** First line of each reference tool's version output, or 'missing'. */
  readonly tools: Readonly<Record<string, string>>;
}

/** The command that prints each reference tool's version. */
const TOOL_VERSION_COMMANDS: Record<string, readonly string[]> = {
  iptables: ['iptables', '-V'],
  'iptables-legacy': ['iptables-legacy', '-V'],
  ipset: ['ipset', 'version'],
  // `ipvsadm --version` asks the kernel (no IPVS on the host); the package says which ipvsadm ran under UML.
  ipvsadm: ['dpkg-query', '-W', '-f', 'ipvsadm ${Version}', 'ipvsadm'],
  conntrack: ['conntrack', '--version'],
  haproxy: ['haproxy', '-v'],
  dnsmasq: ['dnsmasq', '--version'],
  dnsperf: ['dpkg-query', '-W', '-f', 'dnsperf ${Version}', 'dnsperf'],
  iperf3: ['iperf3', '--version'],
  wrk: ['wrk', '--version'],
  etcd: ['etcd', '--version'],
  kubectl: ['kubectl', 'version', '--client'],
  'linux.uml': ['linux.uml', '--version'],
};

async function toolVersion([file, ...args]: readonly string[]): Promise<string> {
  try {
    const r = await execFile(file!, args, { allowFailure: true, timeoutMs: 5000 });
    if (r.code !== 0 && r.stdout.trim() === '') return 'missing';
    const line = (r.stdout + r.stderr).split('\n').find((l) => l.trim() !== '') ?? '';
    return line.trim().slice(0, 120) || 'present';
  } catch {
    return 'missing';
  }
}

export async function describeMachine(): Promise<MachineInfo> {
  const tools: Record<string, string> = {};
  await Promise.all(Object.entries(TOOL_VERSION_COMMANDS).map(async ([tool, command]) => (tools[tool] = await toolVersion(command))));
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    tools: Object.fromEntries(Object.entries(tools).sort()),
  };
}
