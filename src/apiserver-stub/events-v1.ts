import type { KubeObject } from '../kube/types.ts';
import { cause } from './errors.ts';
import type { ResourceDef, StoredAs } from './resource.ts';

/**
 * events.k8s.io/v1 Events: a view of core/v1 Events, as kube-apiserver
 * serves both from one storage (`pkg/apis/events/v1/conversion.go`): note is
 * message, regarding is involvedObject, reportingController is
 * reportingComponent, and the core fields are kept as deprecated*.
 */

type Any = Record<string, unknown>;

/** Field pairs: [events.k8s.io/v1 name, core/v1 name]. */
const renamed: ReadonlyArray<readonly [string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const same = ['metadata', 'related', 'reason', 'type', 'eventTime', 'series', 'action', 'reportingInstance'];

function convert(obj: KubeObject, pairs: ReadonlyArray<readonly [string, string]>): KubeObject {
  const from = obj as unknown as Any;
  const out: Any = {};
  for (const k of same) if (from[k] !== undefined) out[k] = from[k];
  for (const [a, b] of pairs) if (from[a] !== undefined) out[b] = from[a];
  return out as KubeObject;
}

export const eventsV1StoredAs: StoredAs = {
  group: '',
  resource: 'events',
  apiVersion: 'v1',
  kind: 'Event',
  fromStored: (o) => convert(o, renamed.map(([v1, core]) => [core, v1] as const)),
  toStored: (o) => convert(o, renamed),
};

const path = (o: KubeObject, ...keys: string[]): string | undefined => {
  let v: unknown = o;
  for (const k of keys) v = (v as Any | undefined)?.[k];
  return v === undefined || v === null ? undefined : String(v);
};

/** The resource definition, with kube's field selectors and the fields a new events.k8s.io/v1 Event must carry. */
export function eventsV1Def(): ResourceDef {
  return {
    group: 'events.k8s.io', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, nameFormat: 'subdomain', shortNames: ['ev'],
    subresources: [], statusSubresource: false, allowCreateOnUpdate: true, storedAs: eventsV1StoredAs,
    // Selectors run over stored (core/v1) objects in lists and watches, over converted ones in a collection delete: read either.
    fields: {
      ...Object.fromEntries(['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((k) => [`regarding.${k}`, (o: KubeObject) => path(o, 'regarding', k) ?? path(o, 'involvedObject', k)])),
      reason: (o) => path(o, 'reason'), type: (o) => path(o, 'type'), reportingController: (o) => path(o, 'reportingController') ?? path(o, 'reportingComponent'),
    },
    strategy: {
      validate(ev) {
        const e = ev as unknown as Any;
        const causes = [];
        // Events written through core/v1 have no eventTime; only a new events.k8s.io/v1 Event must say when it happened.
        if (e.eventTime === undefined && e.deprecatedLastTimestamp === undefined) causes.push(cause.required('eventTime'));
        if (e.regarding !== undefined && (typeof e.regarding !== 'object' || e.regarding === null)) causes.push(cause.invalid('regarding', e.regarding, 'must be an object'));
        return causes;
      },
    },
  };
}
