/**
 * Structured logging in klog's spirit: `I1122 01:40:00.123456 proxy] Sync done key=value`.
 * Verbosity comes from `FERRY_V` (or the `-v` flag, which sets it); `info(v, ...)`
 * prints only when v <= verbosity. Errors always print. Output goes to stderr so
 * that commands whose stdout is data (dry-run JSON lines, `ferry status`) stay clean.
 */
export type LogFields = Record<string, unknown>;

let verbosity = Number.parseInt(process.env.FERRY_V ?? '0', 10) || 0;

export function setVerbosity(v: number): void {
  verbosity = v;
}

export function getVerbosity(): number {
  return verbosity;
}

function stamp(level: string): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${level}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return JSON.stringify(value);
}

function write(level: string, name: string, msg: string, fields?: LogFields): void {
  let line = `${stamp(level)} ${name}] ${msg}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
  process.stderr.write(line + '\n');
}

/** Logger is a named structured logger; one per module (`createLogger('iptables')`). */
export interface Logger {
  info(v: number, msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(v: number): boolean;
}

export function createLogger(name: string): Logger {
  return {
    info(v, msg, fields) {
      if (v <= verbosity) write('I', name, msg, fields);
    },
    warn(msg, fields) {
      write('W', name, msg, fields);
    },
    error(msg, fields) {
      write('E', name, msg, fields);
    },
    enabled(v) {
      return v <= verbosity;
    },
  };
}
