import type { Pod, Service } from 'kubernetes-types/core/v1.js';

// Test addresses: pods 10.244.<node>.<n>, nodes node-a (zone-a) and node-b (zone-b).

export interface PodOpts {
  ip?: string;
  ready?: boolean;
  node?: string;
  labels?: Record<string, string>;
  deleting?: boolean;
  phase?: string;
  ports?: Array<{ name: string; containerPort: number; protocol?: string }>;
  hostname?: string;
  subdomain?: string;
  created?: string;
  restarts?: number;
}

export function pod(name: string, o: PodOpts = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:01:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'ferry/agnhost', ports: o.ports }],
      ...(o.node !== undefined ? { nodeName: o.node } : { nodeName: 'node-a' }),
      ...(o.hostname ? { hostname: o.hostname } : {}),
      ...(o.subdomain ? { subdomain: o.subdomain } : {}),
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip !== '' ? { podIP: o.ip ?? `10.244.0.${name.replace(/\D/g, '') || 1}` } : {}),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2026-01-01T00:00:10Z' }],
      containerStatuses: [{ name: 'c', image: 'ferry/agnhost', imageID: '', ready: o.ready !== false, restartCount: o.restarts ?? 0 }],
    },
  };
}

export function service(name = 'web', over: Partial<NonNullable<Service['spec']>> = {}): Service {
  return {
    metadata: { name, namespace: 'default', uid: `uid-svc-${name}`, labels: { team: 'x' } },
    spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...over },
  };
}
