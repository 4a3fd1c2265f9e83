import test from 'ava';
import type { Endpoint, ProxyState, ServicePort } from '../../../../src/endpoints/proxy-state.ts';
import { proxyState } from '../../../helpers/proxy-state-fixtures.ts';
import { svc } from '../fixtures.ts';
import { countRules, remote, translateDump, upstreamProxier } from './kube-proxy.ts';

// kube-proxy's TestSyncProxyRulesRepeated (source in kube-proxy.ts): what
// each restore writes as services and endpoints come and go — only the
// changed services' chains after the first sync, stale chains flushed and
// deleted. Its "partial resync error" step builds a dangling jump by hand to
// make the partial restore fail; here the fake fails that restore, and the
// full resync that follows is compared with upstream's.

const FILTER = (reject = '') => `
*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]${reject ? `\n${reject}` : ''}
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT`;
const NAT = (chains: string[], rules: string[]) => `
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
${chains.map((c) => `:${c} - [0:0]`).join('\n')}
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
${rules.join('\n')}
COMMIT
`;
const LAST = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';
const dispatch = (name: string, ip: string, port: number, chain: string) => `-A KUBE-SERVICES -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${ip} --dport ${port} -j ${chain}`;
const D1 = dispatch('ns1/svc1:p80', '172.30.0.41', 80, 'KUBE-SVC-XPGD46QRK7WJZT7O');
const D2 = dispatch('ns2/svc2:p8080', '172.30.0.42', 8080, 'KUBE-SVC-2VJB64SDSIJUP5T6');
const D3 = dispatch('ns3/svc3:p80', '172.30.0.43', 80, 'KUBE-SVC-X27LE4BHSL4DOUIK');
const D4 = dispatch('ns4/svc4:p80', '172.30.0.44', 80, 'KUBE-SVC-4SW47YFZTEDKD3PK');
/** The SVC and SEP rules of one service with one endpoint, as upstream writes them. */
const chainRules = (name: string, ip: string, port: number, svcChain: string, sep: string, ep: string) => [
  `-A ${sep} -m comment --comment ${name} -s ${ep} -j KUBE-MARK-MASQ`,
  `-A ${sep} -m comment --comment ${name} -m tcp -p tcp -j DNAT --to-destination ${ep}:${port}`,
  `-A ${svcChain} -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${ip} --dport ${port} ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
  `-A ${svcChain} -m comment --comment "${name} -> ${ep}:${port}" -j ${sep}`,
];
const SVC1 = chainRules('ns1/svc1:p80', '172.30.0.41', 80, 'KUBE-SVC-XPGD46QRK7WJZT7O', 'KUBE-SEP-SNQ3ZNILQDEJNDQO', '10.0.1.1');
const SVC2 = chainRules('ns2/svc2:p8080', '172.30.0.42', 8080, 'KUBE-SVC-2VJB64SDSIJUP5T6', 'KUBE-SEP-UHEGFW77JX3KXTOV', '10.0.2.1');
const SVC3 = chainRules('ns3/svc3:p80', '172.30.0.43', 80, 'KUBE-SVC-X27LE4BHSL4DOUIK', 'KUBE-SEP-BSWRHOQ77KEXZLNL', '10.0.3.1');
const SVC4 = chainRules('ns4/svc4:p80', '172.30.0.44', 80, 'KUBE-SVC-4SW47YFZTEDKD3PK', 'KUBE-SEP-AYCN5HPXMIRJNJXU', '10.0.4.1');
const SVC3_TWO = [
  '-A KUBE-SEP-DKCFIS26GWF2WLWC -m comment --comment ns3/svc3:p80 -s 10.0.3.2 -j KUBE-MARK-MASQ',
  '-A KUBE-SEP-DKCFIS26GWF2WLWC -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.3.2:80',
  '-A KUBE-SEP-JVVZVJ7BSEPPRNBS -m comment --comment ns3/svc3:p80 -s 10.0.3.3 -j KUBE-MARK-MASQ',
  '-A KUBE-SEP-JVVZVJ7BSEPPRNBS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.3.3:80',
  '-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ',
  '-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.0.3.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-DKCFIS26GWF2WLWC',
  '-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.0.3.3:80" -j KUBE-SEP-JVVZVJ7BSEPPRNBS',
];

const s1 = svc('ns1', 'svc1', { clusterIPs: ['172.30.0.41'] });
const s2 = svc('ns2', 'svc2', { portName: 'p8080', port: 8080, clusterIPs: ['172.30.0.42'] });
const s3 = svc('ns3', 'svc3', { clusterIPs: ['172.30.0.43'] });
const s4 = svc('ns4', 'svc4', { clusterIPs: ['172.30.0.44'] });

test('TestSyncProxyRulesRepeated: each sync writes what upstream writes', async (t) => {
  const natRules = { total: 0, last: 0 };
  let partialRestoreFailures = 0;
  const { ipt, proxier } = upstreamProxier(t, {
    iptablesRestoreFailures: { inc() {} }, iptablesPartialRestoreFailures: { inc: () => partialRestoreFailures++ },
    iptablesRulesTotal: { set: ({ table }, v) => table === 'nat' && (natRules.total = v) },
    iptablesRulesLastSync: { set: ({ table }, v) => table === 'nat' && (natRules.last = v) },
  });
  const step = async (entries: Array<[ServicePort, Endpoint[]]>, changed: ServicePort[], expected: string, what: string) => {
    const snapshot: ProxyState = proxyState(entries, changed.map((s) => s.key));
    const r = await proxier.sync(snapshot);
    t.true(r.ok, what);
    const sent = ipt.restores.at(-1)!.split('\n').filter((l) => !l.startsWith('-I ')).join('\n');
    t.is(translateDump(sent, 'ferry'), translateDump(expected, 'upstream'), what);
    // Upstream's metric checks: rules synced are the nat rules of its expected restore; the
    // total is every rule of kube-proxy's nat chains, which here is what the fake table holds.
    t.is(natRules.last, countRules(expected, 'nat'), `${what}: sync_proxy_rules_iptables_last{nat}`);
    t.is(natRules.total, ipt.chains('nat').filter((c) => c.startsWith('KUBE-')).reduce((n, c) => n + ipt.rules('nat', c).length, 0), `${what}: sync_proxy_rules_iptables_total{nat}`);
  };
  const e1: [ServicePort, Endpoint[]] = [s1, [remote('10.0.1.1')]];
  const e2: [ServicePort, Endpoint[]] = [s2, [remote('10.0.2.1', 8080)]];
  const e3: [ServicePort, Endpoint[]] = [s3, [remote('10.0.3.1')]];

  await step([e1, e2], [s1, s2], FILTER() + NAT(['KUBE-SEP-SNQ3ZNILQDEJNDQO', 'KUBE-SEP-UHEGFW77JX3KXTOV', 'KUBE-SVC-2VJB64SDSIJUP5T6', 'KUBE-SVC-XPGD46QRK7WJZT7O'], [D1, D2, LAST, ...SVC1, ...SVC2]), 'initial full sync');
  await step([e1, e2, e3], [s3], FILTER() + NAT(['KUBE-SEP-BSWRHOQ77KEXZLNL', 'KUBE-SVC-X27LE4BHSL4DOUIK'], [D1, D2, D3, LAST, ...SVC3]), 'a new service: only its chains');
  await step([e1, e3], [s2], FILTER() + NAT(['KUBE-SEP-UHEGFW77JX3KXTOV', 'KUBE-SVC-2VJB64SDSIJUP5T6'], [D1, D3, LAST, '-X KUBE-SEP-UHEGFW77JX3KXTOV', '-X KUBE-SVC-2VJB64SDSIJUP5T6']), 'a deleted service: its chains flushed and deleted');
  const rejectSvc4 = '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT';
  await step([e1, e3, [s4, []]], [s4], FILTER(rejectSvc4) + NAT([], [D1, D3, LAST]), 'a service without endpoints: only the REJECT rule');
  const e4: [ServicePort, Endpoint[]] = [s4, [remote('10.0.4.1')]];
  await step([e1, e3, e4], [s4], FILTER() + NAT(['KUBE-SEP-AYCN5HPXMIRJNJXU', 'KUBE-SVC-4SW47YFZTEDKD3PK'], [D1, D3, D4, LAST, ...SVC4]), 'its endpoints arrive');
  const e3b: [ServicePort, Endpoint[]] = [s3, [remote('10.0.3.2')]];
  await step([e1, e3b, e4], [s3], FILTER() + NAT(['KUBE-SEP-BSWRHOQ77KEXZLNL', 'KUBE-SEP-DKCFIS26GWF2WLWC', 'KUBE-SVC-X27LE4BHSL4DOUIK'], [D1, D3, D4, LAST, ...SVC3_TWO.slice(0, 2), SVC3_TWO[4]!, '-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.0.3.2:80" -j KUBE-SEP-DKCFIS26GWF2WLWC', '-X KUBE-SEP-BSWRHOQ77KEXZLNL']), 'an endpoint replaced');
  const e3c: [ServicePort, Endpoint[]] = [s3, [remote('10.0.3.2'), remote('10.0.3.3')]];
  await step([e1, e3c, e4], [s3], FILTER() + NAT(['KUBE-SEP-DKCFIS26GWF2WLWC', 'KUBE-SEP-JVVZVJ7BSEPPRNBS', 'KUBE-SVC-X27LE4BHSL4DOUIK'], [D1, D3, D4, LAST, ...SVC3_TWO]), 'an endpoint added');
  await step([e1, e3c, e4], [], FILTER() + NAT([], [D1, D3, D4, LAST]), 'no changes: no service chains');

  // The partial sync deleting svc4 fails; the retry is a full resync that deletes svc4's chains.
  ipt.failNextRestore = 1;
  t.is(partialRestoreFailures, 0, 'no partial restore failed before');
  t.false((await proxier.sync(proxyState([e1, e3c], [s4.key]))).ok);
  t.is(partialRestoreFailures, 1, 'sync_proxy_rules_iptables_partial_restore_failures_total counted the failure');
  await step([e1, e3c], [s4], FILTER() + NAT(
    ['KUBE-SEP-AYCN5HPXMIRJNJXU', 'KUBE-SEP-DKCFIS26GWF2WLWC', 'KUBE-SEP-JVVZVJ7BSEPPRNBS', 'KUBE-SEP-SNQ3ZNILQDEJNDQO', 'KUBE-SVC-4SW47YFZTEDKD3PK', 'KUBE-SVC-X27LE4BHSL4DOUIK', 'KUBE-SVC-XPGD46QRK7WJZT7O'],
    [D1, D3, LAST, ...SVC3_TWO, ...SVC1, '-X KUBE-SEP-AYCN5HPXMIRJNJXU', '-X KUBE-SVC-4SW47YFZTEDKD3PK'],
  ), 'the full resync after a failed partial one');
});
