import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SuiteRun } from './result.ts';
import { aggregateRuns, type SuiteOutcome } from './stats.ts';
import type { SuiteDef } from './suites.ts';
import { execFile } from '../util/exec.ts';

export interface RunnerOptions {
  readonly repoDir: string;
  readonly outDir: string;
  readonly quick: boolean;
  readonly runs: number;
  /** Called about once a second with a one-line status for the progress display. */
  readonly progress: (line: string) => void;
}

async function missingPrograms(programs: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of programs) {
    const r = await execFile('sh', ['-c', `command -v ${p}`], { allowFailure: true });
    if (r.code !== 0) missing.push(p);
  }
  return missing;
}

/** runOnce runs a suite script once; resolves to its SuiteRun or an error text. */
/** lastLine is the last non-empty line a suite printed (it names the size being measured), cut for a status line. */
function lastLine(chunks: readonly Buffer[]): string {
  const text = Buffer.concat(chunks.slice(-4)).toString();
  const line = text.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
  return line.length > 90 ? `${line.slice(0, 87)}...` : line;
}

function runOnce(suite: SuiteDef, options: RunnerOptions, run: number, log: string, status: (line: string) => void): Promise<SuiteRun | string> {
  const out = join(options.outDir, 'raw', `${suite.name}-${run}.json`);
  rmSync(out, { force: true });
  const env = { ...process.env, FERRY_BENCH_OUT: out, FERRY_BENCH_QUICK: options.quick ? '1' : '0' };
  const child = spawn(join(options.repoDir, 'scripts', 'bench', suite.name), [], { cwd: options.repoDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const chunks: Buffer[] = [];
  const collect = (b: Buffer) => {
    chunks.push(b);
    status(lastLine(chunks));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const limit = options.quick ? suite.timeoutMs.quick : suite.timeoutMs.full;
  let timedOut = false;
  // SIGTERM first so lab suites remove their namespaces; SIGKILL if that takes over 15 s.
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  let killer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    signal('SIGTERM');
    killer = setTimeout(() => signal('SIGKILL'), 15_000);
  }, limit);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const output = Buffer.concat(chunks).toString();
      writeFileSync(log, output);
      const tail = output.trim().split('\n').slice(-5).join('\n');
      if (timedOut) return resolve(`timed out after ${limit / 1000} s; log ${log}`);
      if (code !== 0) return resolve(`exit ${code}; last lines:\n${tail}`);
      if (!existsSync(out)) return resolve(`wrote no results (FERRY_BENCH_OUT); last lines:\n${tail}`);
      resolve(JSON.parse(readFileSync(out, 'utf8')) as SuiteRun);
    });
  });
}

/**
 * runSuite runs one suite `runs` times and aggregates what it measured. A
 * missing script or program, a failure or a timeout becomes the outcome's
 * status and reason; it never throws, so the other suites still run.
 */
export async function runSuite(suite: SuiteDef, index: number, total: number, options: RunnerOptions): Promise<SuiteOutcome> {
  const started = Date.now();
  const empty = { figures: [], points: [], charts: [], notes: [] };
  const seconds = () => (Date.now() - started) / 1000;
  if (!existsSync(join(options.repoDir, 'scripts', 'bench', suite.name))) {
    return { suite: suite.name, status: 'skipped', reason: `scripts/bench/${suite.name} does not exist yet`, ...empty, seconds: 0 };
  }
  const missing = await missingPrograms(suite.requires);
  if (missing.length > 0) return { suite: suite.name, status: 'skipped', reason: `missing: ${missing.join(', ')}`, ...empty, seconds: 0 };
  mkdirSync(join(options.outDir, 'raw'), { recursive: true });
  mkdirSync(join(options.outDir, 'logs'), { recursive: true });
  const runs: SuiteRun[] = [];
  for (let run = 1; run <= options.runs; run++) {
    let latest = '';
    const ticker = setInterval(() => options.progress(`[${index}/${total}] ${suite.name} run ${run}/${options.runs} ${seconds().toFixed(0)}s${latest ? ` | ${latest}` : ''}`), 1000);
    const result = await runOnce(suite, options, run, join(options.outDir, 'logs', `${suite.name}-${run}.log`), (line) => (latest = line));
    clearInterval(ticker);
    if (typeof result === 'string') {
      return { suite: suite.name, status: 'failed', reason: `run ${run}: ${result}`, ...aggregateRuns(runs), seconds: seconds() };
    }
    runs.push(result);
  }
  return { suite: suite.name, status: 'ok', ...aggregateRuns(runs), seconds: seconds() };
}
