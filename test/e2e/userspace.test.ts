import { defineE2E } from './suite.ts';

// A userspace proxy opens its own connection to the endpoint: the endpoint sees the node, not the client.
const proxied = 'userspace mode proxies the connection, so the endpoint sees the node address (as kube-proxy userspace)';
defineE2E('userspace', {
  unsupported: {
    'should preserve source pod IP for traffic thru service cluster IP': proxied,
    'should keep the client IP with externalTrafficPolicy Local': proxied,
  },
  // kube-proxy's userspace mode has no REJECT rule: its listener accepts and closes.
  rejectCodes: [7, 52, 56],
});
