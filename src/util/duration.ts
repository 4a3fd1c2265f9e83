import { InvalidArgumentError } from './errors.ts';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * parseDuration reads a Go-style duration (`1s`, `250ms`, `1h30m`, `0`) as
 * Kubernetes components accept in flags, and returns milliseconds.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number.parseFloat(m[1]!) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(text)}`);
  return total;
}

/** formatDuration prints milliseconds the way Go prints a time.Duration (`1m30s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = Number(rest.toFixed(3));
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}s`;
}
