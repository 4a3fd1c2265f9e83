/**
 * Issue 19, finding 7: `ferry dns` listening on 0.0.0.0 answers a UDP query
 * from the address the query was sent to. A node namespace holds two
 * addresses on one link, a client namespace queries the second one with dig
 * (which drops an answer from any other address). Both UDP paths: the
 * batched worker of the bundle (IP_PKTINFO) and node:dgram under tsx (a
 * socket per local address). Namespaces are linked only to each other.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiServer } from '../../../src/apiserver-stub/server.ts';
import { createBackend } from '../../../src/apiserver-stub/storage/registry.ts';
import { addAddress, vethPair } from '../../../src/lab/netns.ts';
import { NetnsFixture, isRoot } from '../../helpers/netns-fixture.ts';
import { waitFor } from './harness.ts';

const FERRY = resolve(import.meta.dirname, '../../../bin/ferry');
const NAME = 'kubernetes.default.svc.cluster.local';

for (const path of ['batched (IP_PKTINFO)', 'node:dgram (a socket per address)'] as const) {
  test(`a UDP query to the node's second address is answered from it: ${path}`, async (t) => {
    if (!isRoot) return t.pass('needs root for network namespaces');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-dns-addr-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const api = new ApiServer({ backend: createBackend('memory', {}) });
    await api.start();
    const socket = join(dir, 'api.sock');
    await api.listenUnix(socket);
    t.teardown(() => api.close());

    const lab = new NetnsFixture(t);
    const node = await lab.add('node');
    const client = await lab.add('client');
    await vethPair(node, 'eth0', client, 'eth0');
    await addAddress(node, 'eth0', '10.53.0.1/24');
    await addAddress(node, 'eth0', '10.53.0.2/24');
    await addAddress(client, 'eth0', '10.53.0.10/24');
    const env = path.startsWith('node:dgram') ? { FERRY_TSX: '1' } : {};
    const dns = lab.spawn(node, FERRY, ['dns', '--server', `unix://${socket}`, '--listen', '0.0.0.0:53', '--health-bind-address', '', '--ready-bind-address', '', '--metrics-bind-address', '', '--upstream', '127.0.0.1:9'], env);
    let stderr = '';
    dns.stderr?.on('data', (b: Buffer) => (stderr += b));
    const query = async (server: string) => (await lab.exec(client, 'dig', [`@${server}`, '+tries=1', '+time=2', '+short', NAME, 'A'], { allowFailure: true })).stdout.trim();
    await waitFor(async () => (await query('10.53.0.1')) === '10.96.0.1', 30_000, `an answer from the first address: ${stderr}`);
    const second = await lab.exec(client, 'dig', ['@10.53.0.2', '+tries=1', '+time=2', NAME, 'A'], { allowFailure: true });
    t.regex(second.stdout, /status: NOERROR/, second.stdout + stderr);
    t.regex(second.stdout, /SERVER: 10\.53\.0\.2#53/);
    t.notRegex(second.stdout, /unexpected source/);
    t.is(await query('10.53.0.2'), '10.96.0.1');
    t.log(`${path}: dig @10.53.0.2 → ${/SERVER: .*/.exec(second.stdout)?.[0]}, ${await query('10.53.0.2')}`);
  });
}
