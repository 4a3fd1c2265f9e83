/**
 * `ferry dns` with a multicluster zone against `ferry apiserver`, checked
 * with dig: the Corefile of CoreDNS's README (`kubernetes cluster.local
 * clusterset.local { multicluster clusterset.local }`). The server starts
 * before the ServiceImport CRD exists: the cluster zone serves at once, the
 * clusterset zone answers SERVFAIL for what it lacks; once the CRD (the MCS
 * API's, with a minimal structural schema), a ServiceImport and a labelled
 * EndpointSlice are created, clusterset names answer as CoreDNS's
 * TestMultiClusterServeDNS expects of them.
 */
import test from 'ava';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.d.ts';
import { resources, type ResourceRef } from '../../../src/client/resources.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, SERVICE_IMPORTS, type ServiceImport } from '../../../src/dns/multicluster.ts';
import { freePort } from '../../../src/util/free-port.ts';
import { clusterIPService, createNamespace, createService, dig, startCluster, startFerryDnsConf, waitFor, writeCorefile, type Cluster, type Teardown } from './harness.ts';

const CRDS: ResourceRef = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', namespaced: false };
const CS = 'clusterset.local';

/** The MCS API's ServiceImport CRD (sigs.k8s.io/mcs-api v1alpha1), its schema cut to the fields DNS reads. */
const SERVICE_IMPORT_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'serviceimports.multicluster.x-k8s.io' },
  spec: {
    group: 'multicluster.x-k8s.io',
    scope: 'Namespaced',
    names: { plural: 'serviceimports', singular: 'serviceimport', kind: 'ServiceImport', listKind: 'ServiceImportList', shortNames: ['svcim'] },
    versions: [{
      name: 'v1alpha1', served: true, storage: true,
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              required: ['ports', 'type'],
              properties: {
                type: { type: 'string', enum: ['ClusterSetIP', 'Headless'] },
                ips: { type: 'array', maxItems: 1, items: { type: 'string' } },
                ports: {
                  type: 'array',
                  'x-kubernetes-list-type': 'atomic',
                  items: { type: 'object', required: ['port'], properties: { name: { type: 'string' }, protocol: { type: 'string' }, appProtocol: { type: 'string' }, port: { type: 'integer', format: 'int32' } } },
                },
                sessionAffinity: { type: 'string' },
              },
            },
            status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
      subresources: { status: {} },
    }],
  },
};

/** startConf runs `ferry dns -conf` with `corefile` on a free port (its PORT) and waits for /ready (the cluster zone's informers). */
async function startConf(t: Teardown, url: string, corefile: string): Promise<{ port: number; stderr: () => string }> {
  const dns = await startFerryDnsConf(t, writeCorefile(t, corefile.replace('PORT', String(await freePort()))), { url });
  return { port: dns.port, stderr: dns.log };
}

async function populate(c: Cluster): Promise<void> {
  await c.client.create(CRDS, SERVICE_IMPORT_CRD);
  // Established: the new kind is served.
  await waitFor(async () => (await c.client.list(SERVICE_IMPORTS, { namespace: 'testns' }), true), 10_000, 'the ServiceImport CRD to be served');
  const imp = (name: string, spec: ServiceImport['spec']): ServiceImport => ({ apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ServiceImport', metadata: { namespace: 'testns', name }, spec });
  await c.client.create(SERVICE_IMPORTS, imp('web', { type: 'ClusterSetIP', ips: ['10.200.0.5'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }), { namespace: 'testns' });
  await c.client.create(SERVICE_IMPORTS, imp('db', { type: 'Headless', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }), { namespace: 'testns' });
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: 'testns', name: 'db-east', labels: { [LABEL_SERVICE_NAME]: 'db', [LABEL_SOURCE_CLUSTER]: 'east' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['172.16.1.10'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['172.16.1.11'], conditions: { ready: true } }],
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  };
  await c.client.create(resources.endpointslices, slice, { namespace: 'testns' });
}

test('multicluster: before the ServiceImport CRD exists only the clusterset zone waits; then ServiceImports and labelled slices answer', async (t) => {
  const c = await startCluster(t);
  await createNamespace(c, 'testns');
  await createService(c, clusterIPService('testns', 'web', [{ name: 'http', port: 80 }], { clusterIP: '10.96.100.1' }));
  const dns = await startConf(t, c.url, `.:PORT {\n    bind 127.0.0.1\n    ready 127.0.0.1:0\n    kubernetes cluster.local clusterset.local {\n        multicluster ${CS}\n    }\n}\n`);

  t.deepEqual((await dig(dns.port, ['web.testns.svc.cluster.local', 'A'])).answer, ['web.testns.svc.cluster.local. 5 IN A 10.96.100.1']);
  const early = await dig(dns.port, [`web.testns.svc.${CS}`, 'A']);
  t.is(early.status, 'SERVFAIL', 'no ServiceImport list yet: not synced');
  t.deepEqual(early.authority, [`${CS}. 5 IN SOA ns.dns.${CS}. hostmaster.${CS}. S 7200 1800 86400 5`]);
  t.regex(dns.stderr(), /Failed to list.*serviceimports/, 'the missing kind is logged, not fatal');

  await populate(c);
  // The ServiceImport list is retried with back-off (up to 30 s apart) while the CRD is missing.
  const waited = await waitFor(async () => (await dig(dns.port, [`web.testns.svc.${CS}`, 'A'])).answer.length > 0, 45_000, 'the clusterset zone to sync');
  t.log(`clusterset zone answered ${waited} ms after the CRD and objects were created`);
  t.deepEqual((await dig(dns.port, [`web.testns.svc.${CS}`, 'A'])).answer, [`web.testns.svc.${CS}. 5 IN A 10.200.0.5`]);
  const srv = await dig(dns.port, [`_http._tcp.web.testns.svc.${CS}`, 'SRV']);
  t.deepEqual(srv.answer, [`_http._tcp.web.testns.svc.${CS}. 5 IN SRV 0 100 80 web.testns.svc.${CS}.`]);
  t.deepEqual(srv.additional, [`web.testns.svc.${CS}. 5 IN A 10.200.0.5`]);
  t.deepEqual((await dig(dns.port, [`db.testns.svc.${CS}`, 'A'])).answer.sort(), [`db.testns.svc.${CS}. 5 IN A 172.16.1.10`, `db.testns.svc.${CS}. 5 IN A 172.16.1.11`]);
  t.deepEqual((await dig(dns.port, [`db-0.east.db.testns.svc.${CS}`, 'A'])).answer, [`db-0.east.db.testns.svc.${CS}. 5 IN A 172.16.1.10`]);
  t.deepEqual((await dig(dns.port, [`_http._tcp.db.testns.svc.${CS}`, 'SRV'])).answer.sort(), [
    `_http._tcp.db.testns.svc.${CS}. 5 IN SRV 0 50 80 172-16-1-11.east.db.testns.svc.${CS}.`,
    `_http._tcp.db.testns.svc.${CS}. 5 IN SRV 0 50 80 db-0.east.db.testns.svc.${CS}.`,
  ]);
  t.is((await dig(dns.port, [`db-0.db.testns.svc.${CS}`, 'A'])).status, 'NXDOMAIN', 'an endpoint name without its cluster');
  t.is((await dig(dns.port, [`nope.testns.svc.${CS}`, 'A'])).status, 'NXDOMAIN');

  // A deleted ServiceImport is gone from the zone.
  await c.client.delete(SERVICE_IMPORTS, 'web', { namespace: 'testns' });
  await waitFor(async () => (await dig(dns.port, [`web.testns.svc.${CS}`, 'A'])).status === 'NXDOMAIN', 10_000, 'the deleted import to go');
  t.deepEqual((await dig(dns.port, ['web.testns.svc.cluster.local', 'A'])).answer, ['web.testns.svc.cluster.local. 5 IN A 10.96.100.1'], 'the Service is untouched');
});
