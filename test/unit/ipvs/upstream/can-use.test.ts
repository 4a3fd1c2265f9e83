import test from 'ava';
import { canUseIpvs, IpvsUnusableError, type IpvsProbeOps } from '../../../../src/ipvs/can-use.ts';

// kube-proxy's TestCanUseIPVSProxier (source in kube-proxy.ts), its fake IPVS
// failing the call each case names; the ipset version as `ipset --version` prints it.

type Failing = 'GetVirtualServers' | 'AddVirtualServer' | 'DeleteVirtualServer' | undefined;

/** fakeIpvs is upstream's: no virtual server until one is added, then one (with no scheduler). */
function fakeIpvs(failing: Failing): IpvsProbeOps {
  let created = false;
  const oops = (call: Failing) => {
    if (failing === call) throw new Error('oops');
  };
  return {
    listServices: async () => (oops('GetVirtualServers'), created ? [{ scheduler: '' }] : []),
    addService: async () => (oops('AddVirtualServer'), void (created = true)),
    deleteService: async () => oops('DeleteVirtualServer'),
  };
}

const MIN = 'ipset v6.0, protocol version: 6';
const cases: Array<{ name: string; scheduler?: string; ipsetVersion: string; ipsetErr?: boolean; ipvsErr?: Failing; ok: boolean }> = [
  { name: 'happy days', ipsetVersion: MIN, ok: true },
  { name: 'ipset error', scheduler: '', ipsetVersion: MIN, ipsetErr: true, ok: false },
  { name: 'ipset version too low', scheduler: 'rr', ipsetVersion: 'ipset v4.3.0, protocol version: 4', ok: false },
  { name: 'GetVirtualServers fail', ipsetVersion: MIN, ipvsErr: 'GetVirtualServers', ok: false },
  { name: 'AddVirtualServer fail', ipsetVersion: MIN, ipvsErr: 'AddVirtualServer', ok: false },
  { name: 'DeleteVirtualServer fail', ipsetVersion: MIN, ipvsErr: 'DeleteVirtualServer', ok: false },
];

for (const c of cases) {
  test(`TestCanUseIPVSProxier: ${c.name}`, async (t) => {
    const version = async () => {
      if (c.ipsetErr) throw new Error('oops');
      return c.ipsetVersion;
    };
    const run = canUseIpvs(fakeIpvs(c.ipvsErr), version, c.scheduler ?? '');
    if (c.ok) await t.notThrowsAsync(run);
    else await t.throwsAsync(run, { instanceOf: IpvsUnusableError });
  });
}

test('TestCanUseIPVSProxier (proxier.go): a virtual server already using the scheduler proves it, no probe is added', async (t) => {
  const calls: string[] = [];
  const ipvs: IpvsProbeOps = {
    listServices: async () => (calls.push('list'), [{ scheduler: 'lc' }]),
    addService: async () => void calls.push('add'),
    deleteService: async () => void calls.push('delete'),
  };
  await canUseIpvs(ipvs, async () => 'ipset v7.17, protocol version: 7', 'lc');
  t.deepEqual(calls, ['list']);
  await canUseIpvs(ipvs, async () => 'ipset v7.17, protocol version: 7', 'rr');
  t.deepEqual(calls, ['list', 'list', 'add', 'list', 'delete']);
});
