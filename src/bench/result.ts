import { writeFileSync } from 'node:fs';

/**
 * The contract between a benchmark suite (`scripts/bench/<suite>`) and
 * `ferry bench`: a suite prints its human-readable table as before and, when
 * `FERRY_BENCH_OUT` names a file, also writes one SuiteRun there as JSON.
 * `FERRY_BENCH_QUICK=1` asks for the smaller sizes of `ferry bench --quick`.
 */

/** Goal is a target an issue named, e.g. `{ op: '>=', value: 2000 }`. */
export interface Goal {
  readonly op: '>=' | '<=';
  readonly value: number;
}

export interface Figure {
  /** Stable id within the suite, e.g. `create_rate_10k`. */
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  readonly goal?: Goal;
  /** Id of another figure of the same suite that is this one's reference (HAProxy, dnsmasq...). */
  readonly referenceId?: string;
}

/** Point is one (x, y) of a named series on a named chart. */
export interface Point {
  readonly chart: string;
  readonly series: string;
  readonly x: number | string;
  readonly y: number;
}

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** line: numeric x (sizes); bar: categorical x (modes, tools). */
  readonly kind: 'line' | 'bar';
  readonly logY?: boolean;
  /** Log scale on a line chart's x (sizes such as 100, 1k, 10k). */
  readonly logX?: boolean;
}

export interface SuiteRun {
  readonly suite: string;
  readonly figures: readonly Figure[];
  readonly points: readonly Point[];
  readonly charts: readonly ChartSpec[];
  /** What was skipped or degraded and why (a reference tool missing, a smaller size). */
  readonly notes: readonly string[];
}

/** BenchRecorder collects a suite's figures and writes them for `ferry bench` if asked to. */
export class BenchRecorder {
  private readonly figures: Figure[] = [];
  private readonly points: Point[] = [];
  private readonly charts: ChartSpec[] = [];
  private readonly notes: string[] = [];

  readonly suite: string;

  constructor(suite: string) {
    this.suite = suite;
  }

  /** quick is true under `ferry bench --quick`: use the smaller sizes. */
  get quick(): boolean {
    return process.env.FERRY_BENCH_QUICK === '1';
  }

  figure(figure: Figure): void {
    this.figures.push(figure);
  }

  chart(spec: ChartSpec): void {
    if (!this.charts.some((c) => c.id === spec.id)) this.charts.push(spec);
  }

  point(point: Point): void {
    this.points.push(point);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** run is what was recorded, e.g. for a suite half in a UML guest that prints it for its host half. */
  run(): SuiteRun {
    return { suite: this.suite, figures: this.figures, points: this.points, charts: this.charts, notes: this.notes };
  }

  /** write saves the run to `$FERRY_BENCH_OUT` when set; a no-op for plain runs. */
  write(): void {
    const out = process.env.FERRY_BENCH_OUT;
    if (!out) return;
    writeFileSync(out, JSON.stringify(this.run(), null, 2));
  }
}
