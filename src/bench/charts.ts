import type { TopLevelSpec } from 'vega-lite';
import type { ChartSpec } from './result.ts';
import type { AggregatedPoint } from './stats.ts';

/**
 * chartSpec turns one chart's aggregated points into a Vega-Lite spec: a line
 * per series over numeric x (with min–max error bars), or grouped bars over
 * categorical x. Pure, so the report's charts are testable without rendering.
 */
export function chartSpec(chart: ChartSpec, points: readonly AggregatedPoint[]): TopLevelSpec {
  const values = points.map((p) => ({ series: p.series, x: p.x, y: p.y.median, min: p.y.min, max: p.y.max }));
  const y = { field: 'y', type: 'quantitative' as const, title: chart.yTitle, scale: chart.logY ? { type: 'log' as const } : {} };
  // labelLimit 0: legends show whole series names ("ipvsadm --restore (UML)"), never an ellipsis.
  const color = { field: 'series', type: 'nominal' as const, title: null, legend: { labelLimit: 0 } };
  const base = { title: chart.title, width: 480, height: 280, data: { values } };
  if (chart.kind === 'bar') {
    return {
      ...base,
      mark: 'bar',
      encoding: { x: { field: 'x', type: 'nominal', title: chart.xTitle, sort: null, axis: { labelAngle: 0, labelLimit: 0 } }, xOffset: { field: 'series' }, y, color },
    };
  }
  // On a log x, ticks go exactly at the measured sizes (100, 1,000, 10,000) rather than at 200, 300, 900...
  const sizes = [...new Set(points.map((p) => Number(p.x)))].sort((a, b) => a - b);
  const x = { field: 'x', type: 'quantitative' as const, title: chart.xTitle, ...(chart.logX ? { scale: { type: 'log' as const }, axis: { values: sizes } } : {}) };
  return {
    ...base,
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y, color } },
      { mark: 'rule', encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color } },
    ],
  };
}

/** renderChart renders a spec to SVG, and the SVG to PNG with the system's fonts. */
export async function renderChart(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  // Loaded here, not at start-up: the charting libraries take ~0.3 s to load.
  const [vega, { compile }, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', font: { loadSystemFonts: true } }).render().asPng();
  return { svg, png: Buffer.from(png) };
}
