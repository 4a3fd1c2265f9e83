import test from 'ava';
import type { Endpoint, ServicePort } from '../../../src/endpoints/proxy-state.ts';
import { TableModel } from '../../../src/nftables/table-model.ts';
import { ep, OPTIONS, state, svc } from './fixtures.ts';

// Partial syncs: what one change costs, computed from the model's memory.

const T = 'ip ferry';
const web = svc('ns', 'web', { clusterIPs: ['172.30.0.10'] });
const three = [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.3')];

function modelWith(entries: Array<[ServicePort, Endpoint[]]>): TableModel {
  const model = new TableModel(OPTIONS);
  model.full(state(entries), []);
  return model;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

test('replacing one endpoint is two element operations in the endpoint map and the hairpin set', (t) => {
  const model = modelWith([[web, three]]);
  const tx = model.partial(state([[web, [ep('10.180.0.1'), ep('10.180.0.2'), ep('10.180.0.9')]]]), []);
  t.deepEqual(lines(tx.text), [
    `delete element ${T} endpoints-tcp { 172.30.0.10 . 80 . 2 }`,
    `delete element ${T} hairpin-connections { 10.180.0.3 . 10.180.0.3 }`,
    `add element ${T} endpoints-tcp { 172.30.0.10 . 80 . 2 : 10.180.0.9 . 80 }`,
    `add element ${T} hairpin-connections { 10.180.0.9 . 10.180.0.9 }`,
  ]);
  t.is(tx.elementOps, 4);
  t.false(tx.full);
});

test('a change of endpoint count moves the service to another shared chain, created once', (t) => {
  const model = modelWith([[web, three]]);
  const tx = model.partial(state([[web, three.slice(0, 2)]]), []);
  t.deepEqual(lines(tx.text), [
    `add chain ${T} lb-2`,
    ...['tcp', 'udp', 'sctp'].map((p) => `add rule ${T} lb-2 meta l4proto ${p} dnat ip addr . port to ip daddr . ${p} dport . numgen random mod 2 map @endpoints-${p}`),
    `delete element ${T} endpoints-tcp { 172.30.0.10 . 80 . 2 }`,
    `delete element ${T} service-ips { 172.30.0.10 . tcp . 80 }`,
    `delete element ${T} hairpin-connections { 10.180.0.3 . 10.180.0.3 }`,
    `add element ${T} service-ips { 172.30.0.10 . tcp . 80 : goto lb-2 }`,
  ]);
  // Back to three: lb-3 still exists, so only elements change.
  t.false(model.partial(state([[web, three]]), []).text.includes('add chain'));
});

test('a service losing its endpoints is rejected; a deleted service leaves nothing behind', (t) => {
  const model = modelWith([[web, three]]);
  const empty = lines(model.partial(state([[web, []]]), []).text);
  t.true(empty.includes(`add element ${T} no-endpoint-services { 172.30.0.10 . tcp . 80 : goto reject-chain }`));
  t.true(empty.includes(`delete element ${T} service-ips { 172.30.0.10 . tcp . 80 }`));
  const gone = model.partial({ ...state([]), changed: new Set([web.key]) }, []);
  t.deepEqual(lines(gone.text), [
    `delete element ${T} cluster-ips { 172.30.0.10 }`,
    `delete element ${T} no-endpoint-services { 172.30.0.10 . tcp . 80 }`,
  ]);
  t.is(gone.elements, 0);
});

test('an endpoint shared by two services stays in the hairpin set until neither uses it', (t) => {
  const api = svc('ns', 'api', { clusterIPs: ['172.30.0.11'] });
  const model = modelWith([[web, [ep('10.180.0.1')]], [api, [ep('10.180.0.1')]]]);
  const first = model.partial(state([[web, [ep('10.180.0.2')]], [api, [ep('10.180.0.1')]]], [web.key]), []);
  t.false(first.text.includes(`delete element ${T} hairpin-connections { 10.180.0.1 . 10.180.0.1 }`));
  const second = model.partial(state([[web, [ep('10.180.0.2')]], [api, [ep('10.180.0.3')]]], [api.key]), []);
  t.true(second.text.includes(`delete element ${T} hairpin-connections { 10.180.0.1 . 10.180.0.1 }`));
});

test('an unchanged service costs nothing; node port addresses are synced when they change', (t) => {
  const model = modelWith([[web, three]]);
  t.is(model.partial(state([[web, three]], []), []).text, '');
  t.is(model.partial(state([[web, three]], []), ['192.168.0.2']).text, `add element ${T} nodeport-ips { 192.168.0.2 }\n`);
  t.is(model.partial(state([[web, three]], []), []).text, `delete element ${T} nodeport-ips { 192.168.0.2 }\n`);
});

test('affinity: a removed endpoint drops its chain and set after the chains that use them are rewritten', (t) => {
  const sticky = svc('ns', 'sticky', { clusterIPs: ['172.30.0.12'], sessionAffinity: { type: 'ClientIP', timeoutSeconds: 60 } });
  const model = modelWith([[sticky, three.slice(0, 2)]]);
  const tx = lines(model.partial(state([[sticky, three.slice(0, 1)]]), []).text);
  const at = (prefix: string) => tx.findIndex((l) => l.startsWith(prefix));
  t.true(at(`flush chain ${T} service-`) >= 0);
  t.true(at(`flush chain ${T} endpoint-`) >= 0, 'the removed endpoint chain is flushed');
  t.true(at(`delete chain ${T} endpoint-`) > at(`add rule ${T} service-`), 'deleted after the service chain is rewritten');
  t.true(at(`delete set ${T} affinity-`) > at(`delete chain ${T} endpoint-`));
  t.is(tx.filter((l) => l.startsWith('delete chain')).length, 1);
  t.is(tx.filter((l) => l.startsWith('delete set')).length, 1);
});

function cluster(services: number): Array<[ServicePort, Endpoint[]]> {
  const out: Array<[ServicePort, Endpoint[]]> = [];
  for (let i = 0; i < services; i++) {
    const ip = `172.${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const eps = Array.from({ length: 10 }, (_, j) => ep(`10.${100 + j}.${(i >> 8) & 255}.${i & 255}`, { port: 8000 + j }));
    const nodePort = i % 10 === 0 ? { type: 'NodePort' as const, nodePort: 30000 + i / 10 } : {};
    out.push([svc('ns', `svc-${i}`, { clusterIPs: [ip], ...nodePort }), eps]);
  }
  return out;
}

function oneEndpointChange(services: number): string {
  const entries = cluster(services);
  const model = modelWith(entries);
  const [target, eps] = entries[services >> 1]!;
  const changed = entries.map(([s, e]): [ServicePort, Endpoint[]] => (s === target ? [s, [...eps.slice(0, 9), ep('10.250.0.1', { port: 8009 })]] : [s, e]));
  return model.partial(state(changed, [target.key]), []).text;
}

test('the transaction for one endpoint change has the same size at 100 and at 10,000 services', (t) => {
  const small = oneEndpointChange(100);
  const large = oneEndpointChange(10_000);
  t.is(lines(small).length, lines(large).length);
  t.is(lines(small).length, 6, small);
  // Only the addresses' digits differ.
  t.true(Math.abs(small.length - large.length) <= 8, `${small.length} vs ${large.length} bytes`);
});
