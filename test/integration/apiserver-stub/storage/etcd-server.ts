import type { ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../../src/util/free-port.ts';

/** etcdMissing says why etcd tests cannot run here, or undefined when the `etcd` binary is present. */
export function etcdMissing(): string | undefined {
  const probe = spawnSync('etcd', ['--version'], { stdio: 'ignore' });
  return probe.error || probe.status !== 0 ? 'etcd binary not found: install the Debian etcd-server package' : undefined;
}

/**
 * EtcdServer is a throwaway single-member etcd on 127.0.0.1 with random ports
 * and a temporary data dir; stop() kills it and removes the dir.
 */
export class EtcdServer {
  readonly url: string;
  private readonly child: ChildProcess;
  private readonly dataDir: string;
  private log = '';

  private constructor(url: string, child: ChildProcess, dataDir: string) {
    this.url = url;
    this.child = child;
    this.dataDir = dataDir;
    child.stderr?.on('data', (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-4000)));
  }

  /** start launches etcd and resolves when it answers on its client URL. */
  static async start(): Promise<EtcdServer> {
    const dataDir = await mkdtemp(join(tmpdir(), 'ferry-etcd-'));
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const child = spawn('etcd', [
      '--name', 'ferry-test', '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `ferry-test=${peerUrl}`, '--initial-cluster-state', 'new',
      '--log-level', 'warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const server = new EtcdServer(url, child, dataDir);
    await server.waitHealthy();
    return server;
  }

  /** forTest starts a server stopped in the test's teardown. */
  static async forTest(t: ExecutionContext): Promise<EtcdServer> {
    const server = await EtcdServer.start();
    t.teardown(() => server.stop());
    return server;
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`etcd exited with ${this.child.exitCode}: ${this.log}`);
      const ok = await fetch(`${this.url}/health`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`etcd did not become healthy: ${this.log}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
