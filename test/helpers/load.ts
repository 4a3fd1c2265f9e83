import { availableParallelism, loadavg } from 'node:os';

/**
 * loadScale is how many times busier than one job per core this machine is
 * (at least 1): time bounds from the issues hold on an idle machine, and a
 * test scales them by this when other jobs share the cores.
 */
export function loadScale(): number {
  return Math.max(1, loadavg()[0]! / availableParallelism());
}
