import { spawn } from 'node:child_process';
import { FerryError } from './errors.ts';

/** ExecError is a command that could not start or exited non-zero. */
export class ExecError extends FerryError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stderr: string, cause?: unknown) {
    const detail = stderr.trim() || (cause instanceof Error ? cause.message : '');
    super('FERRY_ERR_EXEC', `${command}: exit ${exitCode ?? 'signal'}${detail ? `: ${detail}` : ''}`, { cause });
    this.name = 'ExecError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, then closed. */
  input?: string | Buffer;
  /** Kill the command after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * execFile runs a program without a shell and collects its output. It rejects
 * with ExecError when the program cannot start or (unless allowFailure) exits
 * non-zero, so callers never mistake a failed command for an empty answer.
 */
export function execFile(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new ExecError(command, null, '', e));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const result = { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (code !== 0 && !options.allowFailure) reject(new ExecError(command, code, result.stderr));
      else resolve(result);
    });
    child.stdin.on('error', () => {
      // The command may exit before reading all input; its exit code tells what happened.
    });
    child.stdin.end(options.input ?? '');
  });
}
