/**
 * The compact forms that keep `ferry dns` small (issue 8): pod addresses
 * indexed by namespace only, port lists shared between services and the
 * informers' slim copies, and cached responses packed in arena slabs.
 */
import test from 'ava';
import type { Pod, Service } from 'kubernetes-types/core/v1.d.ts';
import { slimPod, slimService, toDnsPod, toDnsService } from '../../../src/dns/object.ts';
import { RecordIndex } from '../../../src/dns/records.ts';
import { ResponseArena } from '../../../src/dns/wire/arena.ts';

test('an address several pods hold stays verified until the last of them goes', (t) => {
  const index = new RecordIndex({ watchNamespaces: true });
  const a = { namespace: 'a', ips: ['10.0.0.1'] };
  const b = { namespace: 'b', ips: ['10.0.0.1', 'fd00::1'] };
  index.updatePod(undefined, a);
  index.updatePod(undefined, b);
  t.true(index.hasPod('a', '10.0.0.1') && index.hasPod('b', '10.0.0.1') && index.hasPod('b', 'fd00::1'));
  t.false(index.hasPod('c', '10.0.0.1'));
  index.updatePod(a, undefined);
  t.false(index.hasPod('a', '10.0.0.1'));
  t.true(index.hasPod('b', '10.0.0.1'));
  index.updatePod(b, { namespace: 'b', ips: ['10.0.0.2'] });
  t.false(index.hasPod('b', '10.0.0.1') || index.hasPod('b', 'fd00::1'));
  t.true(index.hasPod('b', '10.0.0.2'));
  t.is(index.counts().pods, 1);
});

test('slim pods keep one address as podIP and two as podIPs', (t) => {
  const pod = (ips: string[]): Pod => ({ metadata: { namespace: 'n', name: 'p', resourceVersion: '1', uid: 'u' }, status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } });
  t.deepEqual(slimPod(pod(['10.0.0.1'])).status, { podIP: '10.0.0.1' });
  t.deepEqual(toDnsPod(slimPod(pod(['10.0.0.1', 'fd00::1']))), { namespace: 'n', ips: ['10.0.0.1', 'fd00::1'] });
  t.deepEqual(toDnsPod(slimPod(pod([]))), { namespace: 'n', ips: [] });
});

test('services with the same ports share one port list with their slim copies', (t) => {
  const svc = (name: string, clusterIP: string): Service => ({ metadata: { namespace: 'n', name }, spec: { clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } });
  const one = slimService(svc('one', '10.0.0.1'));
  const two = slimService(svc('two', '10.0.0.2'));
  t.is(one.spec!.ports, two.spec!.ports);
  const dns = toDnsService(one);
  t.is<unknown, unknown>(dns.ports, one.spec!.ports);
  t.is<unknown, unknown>(dns.clusterIPs, one.spec!.clusterIPs);
  t.deepEqual(dns.ports, [{ name: 'http', protocol: 'tcp', port: 80 }]);
  t.deepEqual(toDnsService(slimService(svc('h', 'None'))).clusterIPs, []);
});

test('arena copies survive later copies and resets', (t) => {
  const arena = new ResponseArena();
  const first = arena.copy(Buffer.from('first'));
  const copies = Array.from({ length: 5000 }, (_, i) => arena.copy(Buffer.from(`response ${i}`)));
  arena.reset();
  arena.copy(Buffer.from('after reset'));
  t.is(first.toString(), 'first');
  t.true(copies.every((c, i) => c.toString() === `response ${i}`));
  const big = Buffer.alloc(40_000, 7);
  t.deepEqual(arena.copy(big), big);
});
