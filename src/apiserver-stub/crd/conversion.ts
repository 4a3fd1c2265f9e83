import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../kube/types.ts';
import type { Backend } from '../storage/backend.ts';
import { ConversionWebhook, conversionFailed, reviewVersionOf, type CrdConversion, type ServiceResolver, type WebhookOptions } from './conversion-webhook.ts';
import type { Convert } from './converting-store.ts';
import type { CrdSpec } from './defs.ts';
import { pruneAndDefault } from './schema.ts';

/**
 * How a CRD with `conversion.strategy: Webhook` converts: its webhook, then
 * the target version's schema prunes and defaults the result, as kube
 * treats what a conversion webhook returns like any other incoming object.
 * Strategy `None` needs nothing here: versions then differ only in
 * apiVersion, which the registry stamps.
 */
export function webhookConvert(crd: KubeObject, resolve: ServiceResolver, options: WebhookOptions = {}): Convert | undefined {
  const spec = crd.spec as CrdSpec & { conversion?: CrdConversion };
  if (spec.conversion?.strategy !== 'Webhook') return undefined;
  const clientConfig = spec.conversion.webhook?.clientConfig;
  const name = crd.metadata?.name ?? '';
  if (!clientConfig) return async () => Promise.reject(conversionFailed(`conversion webhook for ${name}: no clientConfig`));
  const webhook = new ConversionWebhook(clientConfig, resolve, options, reviewVersionOf(spec.conversion.webhook?.conversionReviewVersions));
  const schemas = new Map(spec.versions.map((v) => [`${spec.group}/${v.name}`, v.schema?.openAPIV3Schema]));
  return async (objects, apiVersion) => {
    const converted = await webhook.convert(objects, apiVersion);
    const schema = schemas.get(apiVersion);
    // Objects the webhook returned are fresh (parsed from its answer); those it was not sent are shared stored values, left alone.
    for (const [i, obj] of converted.entries()) if (obj !== objects[i]) pruneAndDefault(schema, obj);
    return converted;
  };
}

/** storageVersion is the apiVersion a CRD's objects are written in. */
export function storageApiVersion(crd: KubeObject): string | undefined {
  const spec = crd.spec as CrdSpec;
  const storage = spec.versions.find((v) => v.storage)?.name;
  return storage === undefined ? undefined : `${spec.group}/${storage}`;
}

/**
 * endpointResolver resolves a webhook's Service as kube-apiserver does with
 * `--enable-aggregator-routing`: to a ready endpoint of the Service port
 * named in clientConfig, dialled directly (with `<name>.<namespace>.svc`
 * as the TLS name). Ferry's apiserver runs on the host, outside the lab's
 * namespaces, so neither a ClusterIP nor a lab pod's IP is reachable from
 * it; what works is a Service whose endpoints are addresses of the host
 * (a selectorless Service with an EndpointSlice naming e.g. 127.0.0.1).
 */
export function endpointResolver(backend: Backend): ServiceResolver {
  return async (namespace, name, port) => {
    const svc = (await backend.get(`/registry/services/${namespace}/${name}`))?.value as Service | undefined;
    if (!svc) throw new Error(`service "${name}" not found`);
    const servicePort = svc.spec?.ports?.find((p) => p.port === port);
    if (!servicePort) throw new Error(`service "${name}" has no port ${port}`);
    if (svc.spec?.type === 'ExternalName' && svc.spec.externalName) return { host: svc.spec.externalName, port };
    const slices = await backend.list(`/registry/discovery.k8s.io/endpointslices/${namespace}/`);
    for (const kv of slices.items) {
      const slice = kv.value as unknown as EndpointSlice;
      if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== name) continue;
      const sp = (slice.ports ?? []).find((p) => (p.name ?? '') === (servicePort.name ?? ''));
      const ready = (slice.endpoints ?? []).find((e) => e.conditions?.ready !== false && e.addresses.length > 0);
      if (sp?.port !== undefined && ready) return { host: ready.addresses[0]!, port: sp.port };
    }
    throw new Error(`no endpoints available for service "${name}"`);
  };
}
