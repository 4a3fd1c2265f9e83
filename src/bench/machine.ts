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

const TOOL_VERSION_ARGS: Record<string, string[]> = {
  iptables: ['-V'],
  'iptables-legacy': ['-V'],
  ipset: ['version'],
  ipvsadm: ['--version'],
  conntrack: ['--version'],
  haproxy: ['-v'],
  dnsmasq: ['--version'],
  iperf3: ['--version'],
  wrk: ['--version'],
  etcd: ['--version'],
  kubectl: ['version', '--client'],
  'linux.uml': ['--version'],
};

async function toolVersion(tool: string, args: string[]): Promise<string> {
  try {
    const r = await execFile(tool, args, { allowFailure: true, timeoutMs: 5000 });
    const line = (r.stdout + r.stderr).split('\n').find((l) => l.trim() !== '') ?? '';
    return line.trim().slice(0, 120) || 'present';
  } catch {
    return 'missing';
  }
}

export async function describeMachine(): Promise<MachineInfo> {
  const tools: Record<string, string> = {};
  await Promise.all(Object.entries(TOOL_VERSION_ARGS).map(async ([tool, args]) => (tools[tool] = await toolVersion(tool, args))));
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    tools: Object.fromEntries(Object.entries(tools).sort()),
  };
}
