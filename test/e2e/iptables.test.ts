import { defineE2E } from './suite.ts';

defineE2E('iptables');
