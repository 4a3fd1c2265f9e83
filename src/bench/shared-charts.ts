import type { ChartSpec } from './result.ts';

/**
 * Charts that several suites draw on together (each adds its own series), so
 * every suite declares them with the same title and axes.
 */
export const SYNC_TIME_CHART: ChartSpec = {
  id: 'sync_time_vs_services',
  title: 'Full sync time from empty vs number of services (10 endpoints each unless noted)',
  xTitle: 'services',
  yTitle: 'sync time (ms)',
  kind: 'line',
  logX: true,
  logY: true,
};

export const NETWORK_PROGRAMMING_CHART: ChartSpec = {
  id: 'network_programming_latency',
  title: 'Network programming latency distribution',
  xTitle: 'percentile',
  yTitle: 'latency (ms)',
  kind: 'line',
  logY: true,
};
