import test from 'ava';
import { dedent } from '../fixtures.ts';
import { checkRuleJumps } from './kube-proxy.ts';

// kube-proxy's TestCheckIPTablesRuleJumps (source in kube-proxy.ts): the
// consistency check that upstream runs on whole restores (its
// assertIPTablesRulesEqual) and these tests run on Ferry's (overall.test.ts,
// service-objects.test.ts). Upstream lists three of its cases twice; each is here once.

const cases: Array<{ name: string; input: string; error?: string }> = [
  {
    name: 'valid',
    input: `
      *filter
      COMMIT
      *nat
      :KUBE-MARK-MASQ - [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
      -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.20.30.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
      -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.20.30.41 --dport 80 ! -s 10.0.0.0/24 -j KUBE-MARK-MASQ
      COMMIT`,
  },
  {
    name: "can't jump to chain that wasn't created",
    input: `
      *filter
      COMMIT
      *nat
      :KUBE-SERVICES - [0:0]
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
      COMMIT`,
    error: 'some chains in nat are used but were not created: [KUBE-SVC-XPGD46QRK7WJZT7O]',
  },
  {
    name: "can't jump to chain that has no rules",
    input: `
      *filter
      COMMIT
      *nat
      :KUBE-SERVICES - [0:0]
      :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
      COMMIT`,
    error: 'some chains in nat are jumped to but have no rules: [KUBE-SVC-XPGD46QRK7WJZT7O]',
  },
  {
    name: "can't add rules to a chain that wasn't created",
    input: `
      *filter
      COMMIT
      *nat
      :KUBE-MARK-MASQ - [0:0]
      :KUBE-SERVICES - [0:0]
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" ...
      -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
      COMMIT`,
    error: 'some chains in nat are used but were not created: [KUBE-SVC-XPGD46QRK7WJZT7O]',
  },
  {
    name: "can't create chain and then not use it",
    input: `
      *filter
      COMMIT
      *nat
      :KUBE-MARK-MASQ - [0:0]
      :KUBE-SERVICES - [0:0]
      :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
      -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" ...
      COMMIT`,
    error: 'some chains in nat are created but not used: [KUBE-SVC-XPGD46QRK7WJZT7O]',
  },
];

for (const tc of cases) {
  test(`TestCheckIPTablesRuleJumps: ${tc.name}`, (t) => {
    t.is(checkRuleJumps(dedent(tc.input)), tc.error);
  });
}
