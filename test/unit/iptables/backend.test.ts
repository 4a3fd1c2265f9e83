import test from 'ava';
import { chooseBackend } from '../../../src/iptables/runner.ts';

// The iptables backend as kube-proxy's image picks it (kubernetes-sigs/iptables-wrappers
// pkg/xtables/detect.go): where kubelet made its chains, nft first; Ferry adds
// "where a proxy's KUBE- chains already are" before falling back to `iptables -V`.
const none = { nftMangle: '', legacyAll: '', nftAll: '', alternative: undefined };
const cases: Array<[string, Parameters<typeof chooseBackend>[0], 'nft' | 'legacy']> = [
  ['kubelet chains in nft mangle', { ...none, nftMangle: '*mangle\n:KUBE-KUBELET-CANARY - [0:0]\n', legacyAll: ':KUBE-IPTABLES-HINT - [0:0]\n' }, 'nft'],
  ['kubelet hint in legacy', { ...none, legacyAll: '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n', alternative: 'nft' }, 'legacy'],
  ['an earlier proxy\'s chains in legacy only', { ...none, legacyAll: '*nat\n:KUBE-SERVICES - [0:0]\n', alternative: 'nft' }, 'legacy'],
  ['an earlier proxy\'s chains in nft only', { ...none, nftAll: '*nat\n:KUBE-SERVICES - [0:0]\n', alternative: 'legacy' }, 'nft'],
  ['nothing anywhere: what iptables points to', { ...none, alternative: 'legacy' }, 'legacy'],
  ['nothing known: nft', none, 'nft'],
  ['a chain merely named like one is not a kubelet chain', { ...none, legacyAll: ':KUBE-KUBELET-CANARY-X - [0:0]\n', nftAll: ':KUBE-SERVICES - [0:0]\n' }, 'nft'],
];
for (const [name, evidence, want] of cases) test(`backend: ${name}`, (t) => t.is(chooseBackend(evidence), want));
