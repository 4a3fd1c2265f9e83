/**
 * CronSchedule is robfig/cron's standard parser as kube's CronJob uses it:
 * five fields (minute hour day-of-month month day-of-week) with lists,
 * ranges, steps and month/day names, the descriptors (@yearly, @annually,
 * @monthly, @weekly, @daily, @midnight, @hourly) and `@every <duration>`,
 * evaluated in an IANA time zone (UTC by default). Day-of-month and
 * day-of-week restricted together match either, as cron does.
 */

const MINUTE = 60_000;
const macros: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const names: Record<number, readonly string[]> = { 3: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], 4: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };
const bounds: ReadonlyArray<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

function value(text: string, field: number): number {
  if (/^\d+$/.test(text)) return Number(text);
  const i = names[field]?.indexOf(text.toLowerCase()) ?? -1;
  if (i < 0) throw new Error(`failed to parse int from ${text}`);
  return field === 3 ? i + 1 : i;
}

function parseField(text: string, field: number): { set: Set<number>; star: boolean } {
  const [lo, hi] = bounds[field]!;
  const set = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      [from, to] = [lo, hi];
      if (stepText === undefined) star = true;
    } else {
      const ends = range!.split('-');
      from = value(ends[0]!, field);
      to = ends.length > 1 ? value(ends[1]!, field) : stepText === undefined ? from : hi;
    }
    if (from < lo || to > hi || from > to || !Number.isInteger(step) || step < 1) throw new Error(`bad cron field ${part}`);
    for (let v = from; v <= to; v += step) set.add(field === 4 && v === 7 ? 0 : v);
  }
  return { set, star };
}

/** offsetMs is the zone's offset from UTC at an instant; wall-clock times are held in a Date's UTC fields. */
const formats = new Map<string, Intl.DateTimeFormat>();

function offsetMs(instant: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  let f = formats.get(timeZone);
  if (!f) formats.set(timeZone, (f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })));
  const parts = f.formatToParts(new Date(instant));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(instant / 1000) * 1000;
}

function wallToInstant(wall: number, timeZone: string): number {
  let t = wall - offsetMs(wall, timeZone);
  t = wall - offsetMs(t, timeZone);
  return t;
}

export class CronSchedule {
  private readonly fields: Array<{ set: Set<number>; star: boolean }> = [];
  private readonly everyMs: number | undefined;
  readonly timeZone: string;

  constructor(expression: string, timeZone = 'UTC') {
    this.timeZone = timeZone;
    const s = expression.trim();
    if (s.startsWith('@every ')) {
      this.everyMs = parseDuration(s.slice('@every '.length));
      return;
    }
    const spec = macros[s] ?? s;
    if (spec.startsWith('@')) throw new Error(`unrecognized descriptor: ${s}`);
    const parts = spec.split(/\s+/);
    if (parts.length !== 5) throw new Error(`expected exactly 5 fields, found ${parts.length}: ${s}`);
    this.fields = parts.map((p, i) => parseField(p, i));
  }

  private dayMatches(d: Date): boolean {
    const [, , dom, , dow] = this.fields;
    const domOk = dom!.set.has(d.getUTCDate());
    const dowOk = dow!.set.has(d.getUTCDay());
    return dom!.star || dow!.star ? domOk && dowOk : domOk || dowOk;
  }

  /** next is the first scheduled time strictly after `after` (ms), or undefined if none within five years. */
  next(after: number): number | undefined {
    if (this.everyMs !== undefined) return after - (after % 1000) + this.everyMs;
    const [minute, hour, , month] = this.fields;
    const wall = new Date(Math.floor((after + offsetMs(after, this.timeZone)) / MINUTE) * MINUTE + MINUTE);
    const limit = wall.getTime() + 5 * 366 * 24 * 60 * MINUTE;
    while (wall.getTime() < limit) {
      if (!month!.set.has(wall.getUTCMonth() + 1)) {
        wall.setUTCMonth(wall.getUTCMonth() + 1, 1);
        wall.setUTCHours(0, 0, 0, 0);
      } else if (!this.dayMatches(wall)) {
        wall.setUTCDate(wall.getUTCDate() + 1);
        wall.setUTCHours(0, 0, 0, 0);
      } else if (!hour!.set.has(wall.getUTCHours())) {
        wall.setUTCHours(wall.getUTCHours() + 1, 0, 0, 0);
      } else if (!minute!.set.has(wall.getUTCMinutes())) {
        wall.setUTCMinutes(wall.getUTCMinutes() + 1, 0, 0);
      } else {
        const t = wallToInstant(wall.getTime(), this.timeZone);
        if (t > after) return t;
        wall.setUTCMinutes(wall.getUTCMinutes() + 1, 0, 0);
      }
    }
    return undefined;
  }
}

/** parseDuration reads Go durations such as `90s`, `1h30m`, `500ms`. */
function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: 60 * MINUTE };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== text.length || total <= 0) throw new Error(`invalid duration ${text}`);
  return total;
}
