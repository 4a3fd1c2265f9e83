/**
 * API object types, re-exported from `kubernetes-types` so the rest of Ferry
 * imports them from one place.
 */
export type { ObjectMeta, ListMeta, Status, StatusCause, LabelSelector, LabelSelectorRequirement, Time, OwnerReference } from 'kubernetes-types/meta/v1.js';
export type {
  Service,
  ServiceSpec,
  ServicePort,
  ServiceList,
  Pod,
  PodSpec,
  PodList,
  Node,
  NodeList,
  Namespace,
  Endpoints,
  EndpointSubset,
  Event,
  ConfigMap,
  Container,
  Binding,
} from 'kubernetes-types/core/v1.js';
export type { EndpointSlice, EndpointSliceList } from 'kubernetes-types/discovery/v1.js';
export type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
export type { Scale } from 'kubernetes-types/autoscaling/v1.js';

/** Mutable strips `readonly` (one level) from the generated types, for objects the server builds. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Meta is ObjectMeta as the server writes it. */
export type Meta = Mutable<import('kubernetes-types/meta/v1.js').ObjectMeta> & {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
};

/** KubeObject is any API object as JSON: kind, apiVersion, metadata, the rest unknown. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  [field: string]: unknown;
}
