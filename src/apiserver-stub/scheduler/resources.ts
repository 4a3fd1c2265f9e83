import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { InvalidArgumentError } from '../../util/errors.ts';

/**
 * Resource arithmetic for scheduling: quantities (`500m`, `1.5`, `128Mi`,
 * `1G`) parsed to integers (cpu in millicores, memory in bytes), and a pod's
 * effective request as kube computes it (`resource.PodRequests`): the sum over
 * containers, at least the largest init container, plus the pod overhead.
 */

/** Resources is cpu in millicores, memory in bytes, pods as a count. */
export interface Resources {
  milliCPU: number;
  memory: number;
  pods: number;
}

const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** parseQuantity reads a Kubernetes quantity as a plain number (`500m` → 0.5, `1Ki` → 1024). */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|([a-zA-Z]*))$/.exec(q.trim());
  const factor = m ? (m[2] !== undefined ? 1 : SUFFIX[m[3] ?? '']) : undefined;
  if (!m || factor === undefined) throw new InvalidArgumentError(`invalid quantity ${JSON.stringify(q)}`);
  return Number(m[1]! + (m[2] ?? '')) * factor;
}

export const milliCPU = (q: string | number | undefined): number => (q === undefined ? 0 : Math.ceil(parseQuantity(q) * 1000));
export const bytes = (q: string | number | undefined): number => (q === undefined ? 0 : Math.ceil(parseQuantity(q)));

// For scoring only, kube counts a container without requests as 100m / 200Mi (schedutil.DefaultMilliCPURequest).
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 2 ** 20;

function containerRequest(c: Container, nonZero: boolean): { cpu: number; mem: number } {
  const req = c.resources?.requests ?? {};
  let cpu = milliCPU(req.cpu);
  let mem = bytes(req.memory);
  if (nonZero) {
    if (req.cpu === undefined) cpu = DEFAULT_MILLI_CPU_REQUEST;
    if (req.memory === undefined) mem = DEFAULT_MEMORY_REQUEST;
  }
  return { cpu, mem };
}

/**
 * podRequests returns the pod's effective cpu/memory request; with `nonZero`
 * a container without requests counts the scoring defaults (kube keeps both
 * figures per node: one for fitting, one for scoring).
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequest(c, nonZero);
    cpu += r.cpu;
    mem += r.mem;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequest(c, false);
    cpu = Math.max(cpu, r.cpu);
    mem = Math.max(mem, r.mem);
  }
  const overhead = pod.spec?.overhead ?? {};
  return { milliCPU: cpu + milliCPU(overhead.cpu), memory: mem + bytes(overhead.memory), pods: 1 };
}

/** nodeAllocatable reads status.allocatable (falling back to capacity); pods default to 110 as kubelet's. */
export function nodeAllocatable(alloc: Record<string, string> | undefined, capacity?: Record<string, string>): Resources {
  const a = alloc ?? capacity ?? {};
  return { milliCPU: milliCPU(a.cpu), memory: bytes(a.memory), pods: a.pods !== undefined ? Math.floor(parseQuantity(a.pods)) : 110 };
}
