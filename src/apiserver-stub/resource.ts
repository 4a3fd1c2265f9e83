import type { KubeObject, StatusCause } from '../kube/types.ts';
import type { NameFormat } from './meta.ts';
import type { CustomParts } from './crd/defs.ts';

/**
 * ResourceDef describes one REST resource the server serves: its names for
 * discovery, scope, subresources, the selectable fields, and its Strategy
 * (defaulting and validation per kind, as kube-apiserver's registry strategies).
 */
export interface ResourceDef {
  readonly group: string;
  readonly version: string;
  /** Plural lower-case name used in paths: `services`. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Format metadata.name must have (Services: DNS-1035 label; namespaces: DNS-1123 label). */
  readonly nameFormat: NameFormat;
  readonly shortNames: readonly string[];
  readonly categories?: readonly string[];
  readonly subresources: readonly Subresource[];
  /** Field selector labels beyond metadata.name/metadata.namespace, with how to read them. */
  readonly fields?: Readonly<Record<string, (obj: KubeObject) => string | undefined>>;
  /** Status is only written through `/status`; main-resource writes keep the stored status. */
  readonly statusSubresource: boolean;
  /** DELETE of the collection is refused with 405 (namespaces, as kube: their storage has no collection delete). */
  readonly noDeleteCollection?: boolean;
  /**
   * A DELETE that names no propagation policy orphans dependents, with this
   * warning (batch/v1 Jobs, kept by kube for compatibility).
   */
  readonly orphanByDefault?: string;
  /** Reviews: POST answers from the request and stores nothing; no other verb (SelfSubjectAccessReview...). */
  readonly createOnly?: boolean;
  /** PUT of an absent object creates it (endpoints, events). */
  readonly allowCreateOnUpdate?: boolean;
  /**
   * Another version's storage this resource is a view of (events.k8s.io/v1
   * Events are core/v1 Events in kube's storage), with the conversions.
   */
  readonly storedAs?: StoredAs;
  readonly strategy: Strategy;
  /** Served for a CustomResourceDefinition: its schema, scale paths and printer columns (crd/defs.ts). */
  readonly custom?: CustomParts;
}

export interface StoredAs {
  readonly group: string;
  readonly resource: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** fromStored converts a stored object to this version (without apiVersion and kind). */
  fromStored(obj: KubeObject): KubeObject;
  /** toStored converts an object of this version to the stored version (without apiVersion and kind). */
  toStored(obj: KubeObject): KubeObject;
}

export type Subresource = 'status' | 'scale' | 'binding' | 'log' | 'exec' | 'attach' | 'portforward' | 'token';

/** Strategy holds what differs per kind; each hook is optional. */
export interface Strategy {
  /** Fills defaults (after admission of the body, before validation), on create and update. */
  defaults?(obj: KubeObject): void;
  /** Resets fields a create may not set (status of pods, services...). */
  prepareForCreate?(obj: KubeObject): void;
  /**
   * Admission plugins that read other objects on create (the ServiceAccount
   * plugin for pods): mutate obj or throw ApiError. Runs after defaults and
   * before a generateName is resolved, as kube's admission runs before the
   * registry's BeforeCreate.
   */
  admitCreate?(obj: KubeObject): Promise<void>;
  /** Adjusts an update before defaults, e.g. carrying server-set values the client left out. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Validates; `old` is the stored object on update. */
  validate?(obj: KubeObject, old: KubeObject | undefined): StatusCause[];
  /**
   * Seconds a DELETE waits before the object goes (pods: their grace
   * period while bound to a node); 0 or undefined deletes at once.
   */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /**
   * Reserves what the object needs from shared pools (ClusterIPs, NodePorts)
   * before it is written; throws ApiError when a request cannot be honoured.
   */
  reserve?(obj: KubeObject, old: KubeObject | undefined): Reservation;
}

/** Reservation is kept when the write succeeds and given back when it fails. */
export interface Reservation {
  commit(): void;
  cancel(): void;
}

export function apiVersionOf(def: Pick<ResourceDef, 'group' | 'version'>): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

export function groupResource(def: ResourceDef): { group: string; resource: string } {
  return { group: def.group, resource: def.resource };
}
