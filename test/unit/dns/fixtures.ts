/**
 * A fixed cluster for DNS tests, loaded into a RecordIndex (the fake
 * controller: the real index fed by fixtures instead of informers).
 *
 * Addresses:
 *   Service ClusterIPs  10.0.0.0/24, fd00::/64
 *   Endpoints and pods  172.0.0.0/24
 *   Namespaces          testns, default (both exist)
 */
import { RecordIndex } from '../../../src/dns/records.ts';
import type { DnsEndpoint, DnsPort, DnsService } from '../../../src/dns/object.ts';

export const ZONE = 'cluster.local';
export const TTL = 30;
/** SOA line as helpers.formatRR prints it (serial left out). */
export const SOA = `${ZONE}.\t30\tIN\tSOA\tns.dns.${ZONE}. hostmaster.${ZONE}. 7200 1800 86400 30`;

const http: DnsPort = { name: 'http', protocol: 'tcp', port: 80 };
const dnsUdp: DnsPort = { name: 'dns', protocol: 'udp', port: 53 };

function svc(name: string, kind: DnsService['kind'], extra: Partial<DnsService> = {}): DnsService {
  return { namespace: 'testns', name, kind, clusterIPs: [], externalName: '', ports: [http], publishNotReady: false, ...extra };
}

function ep(ip: string, ready = true, hostname?: string, ports: DnsPort[] = [{ name: 'http', protocol: 'tcp', port: 8080 }]): DnsEndpoint {
  return { ip, hostname, ready, ports };
}

/** fixtureIndex builds the test cluster; `synced` false leaves it unsynced. */
export function fixtureIndex(synced = true, headlessSize = 0): RecordIndex {
  const index = new RecordIndex({ watchNamespaces: true });
  index.setNamespace('testns');
  index.setNamespace('default');
  index.setService(svc('svc1', 'ClusterIP', { clusterIPs: ['10.0.0.1'], ports: [http, dnsUdp] }));
  index.setService(svc('svc6', 'ClusterIP', { clusterIPs: ['fd00::1'] }));
  index.setService(svc('dual', 'ClusterIP', { clusterIPs: ['10.0.0.2', 'fd00::2'] }));
  index.setService(svc('unnamed', 'ClusterIP', { clusterIPs: ['10.0.0.5'], ports: [{ name: '', protocol: 'tcp', port: 8000 }] }));
  index.setService(svc('hdls1', 'Headless'));
  index.setEndpointSlice({ namespace: 'testns', name: 'hdls1-abc', service: 'hdls1', endpoints: [ep('172.0.0.2', true, 'pod-a'), ep('172.0.0.3'), ep('172.0.0.4', false)] });
  index.setService(svc('hdlsempty', 'Headless'));
  index.setEndpointSlice({ namespace: 'testns', name: 'hdlsempty-abc', service: 'hdlsempty', endpoints: [ep('172.0.0.5', false)] });
  index.setService(svc('hdlspub', 'Headless', { publishNotReady: true }));
  index.setEndpointSlice({ namespace: 'testns', name: 'hdlspub-abc', service: 'hdlspub', endpoints: [ep('172.0.0.9', false, 'web-0')] });
  index.setService(svc('hdls6', 'Headless'));
  index.setEndpointSlice({ namespace: 'testns', name: 'hdls6-abc', service: 'hdls6', endpoints: [ep('fd00::10')] });
  index.setService(svc('ext', 'ExternalName', { externalName: 'ext.example.com' }));
  index.setService(svc('extin', 'ExternalName', { externalName: `svc1.testns.svc.${ZONE}` }));
  index.updatePod(undefined, { namespace: 'testns', ips: ['172.0.0.2'] });
  if (headlessSize > 0) {
    index.setService(svc('big', 'Headless'));
    const eps = Array.from({ length: headlessSize }, (_, i) => ep(`172.1.${Math.floor(i / 250)}.${(i % 250) + 1}`));
    index.setEndpointSlice({ namespace: 'testns', name: 'big-abc', service: 'big', endpoints: eps });
  }
  if (synced) index.markSynced();
  return index;
}
