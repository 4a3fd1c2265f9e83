import type { ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, type ApiServerOptions } from '../../../src/apiserver-stub/server.ts';
import { createBackend, type BackendOptions } from '../../../src/apiserver-stub/storage/registry.ts';

/** A running apiserver on 127.0.0.1 (port 0), closed in the test's teardown. */
export interface RunningServer {
  readonly server: ApiServer;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startServer(
  t: ExecutionContext,
  storage: 'memory' | 'file' | 'etcd' = 'memory',
  backendOptions: BackendOptions = {},
  options: Partial<Omit<ApiServerOptions, 'backend'>> = {},
  port = 0,
): Promise<RunningServer> {
  // No serviceaccount controller runs here to make each namespace's `default`, so ServiceAccount
  // admission is off unless the test asks for it (kube's integration tests start their apiserver so).
  const server = new ApiServer({ backend: createBackend(storage, backendOptions), disableAdmissionPlugins: ['ServiceAccount'], ...options });
  await server.start();
  const address = await server.listen('127.0.0.1', port);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await server.close();
  };
  t.teardown(close);
  return { server, url: `http://127.0.0.1:${address.port}`, port: address.port, close };
}

export async function tempDir(t: ExecutionContext, prefix = 'ferry-apiserver-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The kubectl binaries on this machine: Debian's /usr/bin/kubectl and, when present, the Cloud SDK's 1.27. */
export function kubectls(): string[] {
  return ['/usr/bin/kubectl', '/usr/lib/google-cloud-sdk/bin/kubectl.1.27'].filter((p) => existsSync(p));
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** kubectl runs one command against url with a private cache dir, bounded in time. */
export function kubectl(bin: string, url: string, cacheDir: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(bin, ['--server', url, '--cache-dir', cacheDir, ...args], { timeout: 30_000, env: { ...process.env, KUBECONFIG: '/dev/null' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** startApiserverProcess runs `ferry apiserver` on a free loopback port (memory store) with `args` and waits for its start banner. */
export async function startApiserverProcess(t: ExecutionContext, args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; out: string }> {
  const child = spawn('./bin/ferry', ['apiserver', '--listen', '127.0.0.1:0', '--storage', 'memory', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  for (const deadline = Date.now() + 30_000; !/KUBECONFIG=/.test(out); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start banner: ${out}`);
  }
  return { child, out };
}
