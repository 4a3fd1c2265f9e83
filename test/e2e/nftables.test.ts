import { defineE2E } from './suite.ts';

// The nftables mode (src/nftables) has every behaviour of the iptables mode: the same suite, unchanged.
defineE2E('nftables');
