import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isErrno, NetlinkError } from '../../../src/netlink/errors.ts';
import { IPVS_SVC_F_HASHED, IPVS_SVC_F_PERSISTENT, IpvsNetlink, type Destination, type VirtualService } from '../../../src/netlink/ipvs.ts';
import { RouteNetlink } from '../../../src/netlink/rtnl.ts';
import { scenario } from './harness.ts';

/**
 * Acceptance 1 (inside UML): netlink round trips against the real kernel.
 * Links and addresses through rtnetlink, services and destinations through
 * the IPVS family, each read back and also checked with `ip`/`ipvsadm`.
 */
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

await scenario(async (step) => {
  const rt = RouteNetlink.open();
  const ipvs = await IpvsNetlink.open();
  let index = 0;

  await step('create a dummy link and find its index', async () => {
    await rt.createDummyLink('kube-ipvs0');
    index = (await rt.linkIndex('kube-ipvs0')) ?? 0;
    assert.ok(index > 0);
    assert.match(sh('ip', ['-d', 'link', 'show', 'kube-ipvs0']), /dummy/);
    await assert.rejects(rt.createDummyLink('kube-ipvs0'), (e) => isErrno(e, 'EEXIST'));
    assert.equal(await rt.linkIndex('no-such-link'), undefined);
  });

  await step('add, list and delete addresses (IPv4 and IPv6)', async () => {
    const v4 = { index, address: '10.96.0.1', prefixLength: 32 };
    const v6 = { index, address: 'fd00:10:96::1', prefixLength: 128 };
    await rt.addAddress(v4);
    await rt.addAddress(v6);
    await assert.rejects(rt.addAddress(v4), (e) => isErrno(e, 'EEXIST'));
    const listed = (await rt.listAddresses(index)).filter((a) => !a.address.startsWith('fe80'));
    assert.deepEqual(new Set(listed.map((a) => `${a.address}/${a.prefixLength}`)), new Set(['10.96.0.1/32', 'fd00:10:96::1/128']));
    assert.match(sh('ip', ['addr', 'show', 'dev', 'kube-ipvs0']), /inet 10\.96\.0\.1\/32/);
    await rt.deleteAddress(v4);
    assert.deepEqual(
      (await rt.listAddresses(index)).map((a) => a.address).filter((a) => !a.startsWith('fe80')),
      ['fd00:10:96::1'],
    );
    const results = await rt.applyAddresses([
      { add: true, address: v4 },
      { add: true, address: v6 },
      { add: false, address: { ...v4, address: '10.96.0.99' } },
    ]);
    assert.deepEqual(results.map((e) => e?.errnoName), [undefined, 'EEXIST', 'EADDRNOTAVAIL']);
  });

  await step('IPVS info and timeouts', async () => {
    const info = await ipvs.info();
    assert.equal(info.version, '1.2.1');
    assert.ok(info.connTableSize > 0);
    await ipvs.setTimeouts({ tcp: 900, tcpFin: 120, udp: 300 });
    assert.deepEqual(await ipvs.timeouts(), { tcp: 900, tcpFin: 120, udp: 300 });
    assert.match(sh('ipvsadm', ['-L', '--timeout']), /900 120 300/);
  });

  const svc: VirtualService = { protocol: 'TCP', address: '10.96.0.1', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff };
  const udp: VirtualService = { protocol: 'UDP', address: 'fd00:10:96::1', port: 53, scheduler: 'sh', flags: IPVS_SVC_F_PERSISTENT, timeout: 10800, netmask: 128 };
  const dest = (address: string, port: number, weight = 1): Destination => ({ address, port, weight, forward: 0, upperThreshold: 0, lowerThreshold: 0 });

  await step('create services and destinations in one batch, read them back', async () => {
    await ipvs.flush();
    const dests = [dest('10.244.1.10', 8080), dest('10.244.1.11', 8080, 3), dest('10.244.1.12', 8080)];
    const errors = await ipvs.apply([ipvs.newService(svc), ipvs.newService(udp), ...dests.map((d) => ipvs.newDest(svc, d)), ipvs.newDest(udp, dest('fd00:244::5', 5353))]);
    assert.deepEqual(errors, new Array(6).fill(undefined));
    const listed = (await ipvs.listServices()).map((s) => ({ ...s, flags: s.flags & ~IPVS_SVC_F_HASHED }));
    assert.deepEqual(new Set(listed.map((s) => JSON.stringify(s))), new Set([svc, udp].map((s) => JSON.stringify(s))));
    const got = await ipvs.listDestinations(svc);
    assert.deepEqual(
      got.map(({ activeConns, inactiveConns, persistConns, ...d }) => d).sort((a, b) => a.address.localeCompare(b.address)),
      dests,
    );
    assert.deepEqual((await ipvs.listDestinations(udp)).map((d) => `${d.address}:${d.port}`), ['fd00:244::5:5353']);
    const text = sh('ipvsadm', ['-Ln']);
    assert.match(text, /TCP {2}10\.96\.0\.1:80 rr/);
    assert.match(text, /-> 10\.244\.1\.11:8080 +Masq +3/);
    assert.match(text, /UDP {2}\[fd00:10:96::1\]:53 sh persistent 10800/);
  });

  await step('errors in a batch map back to the request that caused them', async () => {
    const errors = await ipvs.apply([
      ipvs.setDest(svc, dest('10.244.1.10', 8080, 0)),
      ipvs.newService(svc),
      ipvs.delDest(svc, { address: '10.244.1.99', port: 8080 }),
      ipvs.newService({ ...svc, port: 81, scheduler: 'nosuch' }),
      ipvs.delDest(svc, { address: '10.244.1.12', port: 8080 }),
    ]);
    assert.deepEqual(errors.map((e) => e?.errnoName), [undefined, 'EEXIST', 'ENOENT', 'ENOENT', undefined]);
    assert.ok(errors[1] instanceof NetlinkError && errors[1].message.includes('10.96.0.1:80'));
    const got = await ipvs.listDestinations(svc);
    assert.deepEqual(got.map((d) => `${d.address}:${d.weight}`).sort(), ['10.244.1.10:0', '10.244.1.11:3']);
  });

  await step('update and delete services', async () => {
    await ipvs.run(ipvs.setService({ ...svc, scheduler: 'lc', flags: IPVS_SVC_F_PERSISTENT, timeout: 60 }));
    const [s] = (await ipvs.listServices()).filter((x) => x.port === 80);
    assert.deepEqual({ scheduler: s!.scheduler, persistent: (s!.flags & IPVS_SVC_F_PERSISTENT) !== 0, timeout: s!.timeout }, { scheduler: 'lc', persistent: true, timeout: 60 });
    await ipvs.run(ipvs.delService(svc));
    await assert.rejects(ipvs.run(ipvs.delService(svc)), (e) => isErrno(e, 'ESRCH'));
    await ipvs.flush();
    assert.deepEqual(await ipvs.listServices(), []);
  });

  await step('delete the link', async () => {
    await rt.deleteLink(index);
    assert.equal(await rt.linkIndex('kube-ipvs0'), undefined);
  });
  rt.close();
  ipvs.close();
});
