import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * startApiserverProcess runs `ferry apiserver` on a free loopback port with a
 * scratch data dir (removed, and the server killed, when the script exits)
 * and resolves once it prints its URL. Benchmarks measure the server as its
 * own process, as clients see it. No serviceaccount controller runs beside
 * it, so ServiceAccount admission is off (pods are created as kube's
 * integration tests create them).
 */
export async function startApiserverProcess(name: string, storage: string, nodeArgs: readonly string[] = []): Promise<{ url: string; server: ChildProcess }> {
  const dataDir = mkdtempSync(join(tmpdir(), `ferry-bench-${name}-`));
  const server = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/cli/main.ts', 'apiserver', '--plain-http', '--listen', '127.0.0.1:0', '--storage', storage, '--data-dir', dataDir, '--disable-admission-plugins', 'ServiceAccount'], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.on('exit', () => {
    server.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`apiserver exited with ${code}`)));
  });
  return { url, server };
}
